// Package ops holds the verbs of the API: service actions, replan, adding a
// layer, signals and the queries behind them. Each verb turns a request into
// a change whose tasks call servstate, or into one call on planstate or
// changes. It speaks no HTTP and holds no process state; its errors carry a
// Class that the API maps to a status.
package ops
