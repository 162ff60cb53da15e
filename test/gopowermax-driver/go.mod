module storage-authz/test/gopowermax-driver

go 1.25

require github.com/dell/gopowermax/v2 v2.11.0

require (
	github.com/sirupsen/logrus v1.9.3 // indirect
	golang.org/x/sys v0.29.0 // indirect
)
