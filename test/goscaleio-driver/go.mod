module storage-authz/test/goscaleio-driver

go 1.25

require github.com/dell/goscaleio v1.21.0

require (
	github.com/google/uuid v1.6.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
