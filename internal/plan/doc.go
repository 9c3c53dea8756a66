// Package plan turns layer YAML into validated values: it parses layers,
// combines them into the effective plan, validates the result, computes the
// start and stop order of services (with their lanes). The contract is the
// project's spec, layers.md, and §6 of behaviour.md. Package cmdline splits
// commands into words, package planyaml prints plans and layers back as
// YAML, and package planstate reads the layers directory.
//
// The package is pure. It starts no goroutines, does not log, never runs a
// process, never touches the network and reads no files. The only outside
// world it sees is the user database (os/user), because user and group
// names of exec checks must resolve when a layer is parsed and those of
// workloads when a plan is built.
//
// A published *Plan is never mutated. Layers and plans built by this package
// share no maps, slices or pointers with their inputs, so a caller may keep
// old values around while building new ones. The one exception is
// (*Plan).WithLayer: the new plan shares with the old one the entries the
// added layer did not touch, which is safe because neither plan is ever
// mutated, and keeps the cost of an added layer independent of the number
// of layers.
//
// The text a layer and a plan may hold is bounded (MaxLayerText,
// MaxPlanText), and no string of a layer may hold a NUL byte or invalid
// UTF-8 (docs/limits.md).
//
// Errors that describe bad input are *FormatError values (an HTTP API maps
// them to 400). Where the spec gives the exact text of an error, that text
// is used verbatim.
//
// Things this package deliberately does not do: it does not resolve the user
// a service runs as (that happens when the service starts), it does not look
// commands up in PATH, and it does not remember which layers came from disk
// and which were added later (the caller keeps the layer list).
package plan
