package kube

import (
	"context"
	"path/filepath"
)

// ConfigPaths are the files a kubeconfig is looked for in, as kubectl
// looks: flag (the user's --kubeconfig) when given, else $KUBECONFIG's
// list, else ~/.kube/config. getenv reads the environment.
func ConfigPaths(flag string, getenv func(string) string) []string {
	if flag != "" {
		return []string{flag}
	}
	if env := getenv("KUBECONFIG"); env != "" {
		return filepath.SplitList(env)
	}
	if home := getenv("HOME"); home != "" {
		return []string{filepath.Join(home, ".kube", "config")}
	}
	return nil
}

// Dial connects to the cluster of the named context ("" for the current
// one) of the first kubeconfig file of paths that exists (see Config and
// Connect).
func Dial(ctx context.Context, paths []string, contextName string, opt Options) (*Cluster, error) {
	cfg, err := Config(paths, contextName)
	if err != nil {
		return nil, err
	}
	return Connect(ctx, cfg, opt)
}
