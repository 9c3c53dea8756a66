package plan

import "path/filepath"

// LogAccess is the access level a client needs to read a service's logs.
type LogAccess string

// The log-access values: unset and "read" are Pebble's rule (any client
// with read access); "admin" restricts the service's logs to admins.
const (
	LogAccessUnset LogAccess = ""
	LogAccessRead  LogAccess = "read"
	LogAccessAdmin LogAccess = "admin"
)

// LogsRestricted reports whether the service's logs are for admins only.
func (s *Service) LogsRestricted() bool {
	return s.LogAccess == LogAccessAdmin
}

// mergePrivacy folds the privacy fields of other into s: both replace when
// set.
func (s *Service) mergePrivacy(other *Service) {
	mergeString(&s.EnvironmentFile, other.EnvironmentFile)
	mergeString(&s.LogAccess, other.LogAccess)
}

// validateLayerPrivacy checks the privacy fields of one layer's service
// entry. The environment file's path must be absolute: it is read by the
// daemon, whose working directory means nothing to the layer's author.
func validateLayerPrivacy(label, name string, s *Service) error {
	if f := s.EnvironmentFile; f != "" && !filepath.IsAbs(f) {
		return formatErrorf(`layer %q service %q: environment-file must be an absolute path, not %q`, label, name, f)
	}
	switch s.LogAccess {
	case LogAccessUnset, LogAccessRead, LogAccessAdmin:
	default:
		return formatErrorf(`layer %q service %q: log-access must be "read" or "admin", not %q`, label, name, s.LogAccess)
	}
	return nil
}
