module github.com/pebble-project/pebble/tests/compat

go 1.26.8

require (
	github.com/canonical/pebble v1.32.1
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/gorilla/websocket v1.5.3 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.46.0 // indirect
)
