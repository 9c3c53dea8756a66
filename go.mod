module github.com/pebble-project/pebble

go 1.26.8
