module storage-authz/test/gopowerscale-driver

go 1.25

require github.com/dell/gopowerscale v1.21.0

require (
	github.com/PuerkitoBio/goquery v1.11.0 // indirect
	github.com/andybalholm/cascadia v1.3.3 // indirect
	github.com/sirupsen/logrus v1.9.3 // indirect
	golang.org/x/net v0.47.0 // indirect
	golang.org/x/sys v0.38.0 // indirect
)
