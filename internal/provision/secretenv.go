package provision

import (
	"os"
	"sync"
)

// SecretEnv looks up the environment variables of `env:` credentials and takes each one out of
// the process environment as it is read, so that no child process (transport plugins, flash
// runners, --reset-cmd) inherits a secret: they start with the environment as it is then. The
// value stays known to this SecretEnv, so a manifest loaded again in the same process finds it.
// The zero value is ready to use; pass Lookup to Load.
type SecretEnv struct {
	mu    sync.Mutex
	taken map[string]string
}

// Lookup returns the variable's value, as os.LookupEnv did before it was taken.
func (s *SecretEnv) Lookup(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.taken[name]; ok {
		return v, true
	}
	v, ok := os.LookupEnv(name)
	if !ok {
		return "", false
	}
	if s.taken == nil {
		s.taken = map[string]string{}
	}
	s.taken[name] = v
	_ = os.Unsetenv(name) // cannot fail for a name LookupEnv found
	return v, true
}
