// Package ops holds the verbs of the API that span several owners: service
// actions and replan (plan order, changes, servstate, checks), adding a
// layer, exec (plan, changes, execs) and the map from service names to
// their output buffers. Each verb turns a request into a change whose tasks
// call servstate or execs. Verbs that ask one owner are not here: the
// daemon calls that owner directly. It speaks no HTTP and holds no process
// state; its errors are apierr.Errors, whose class the API maps to a
// status.
package ops
