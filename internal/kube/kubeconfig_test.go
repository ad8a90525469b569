package kube

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestConfigPaths(t *testing.T) {
	list := filepath.Join("a", "one") + string(filepath.ListSeparator) + filepath.Join("b", "two")
	for _, tc := range []struct {
		name string
		flag string
		env  map[string]string
		want []string
	}{
		{"flag first", "given", map[string]string{"KUBECONFIG": list, "HOME": "home"}, []string{"given"}},
		{"KUBECONFIG list", "", map[string]string{"KUBECONFIG": list, "HOME": "home"}, []string{filepath.Join("a", "one"), filepath.Join("b", "two")}},
		{"home", "", map[string]string{"HOME": "home"}, []string{filepath.Join("home", ".kube", "config")}},
		{"nothing", "", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ConfigPaths(tc.flag, func(k string) string { return tc.env[k] })
			if !slices.Equal(got, tc.want) {
				t.Errorf("ConfigPaths(%q) = %q, want %q", tc.flag, got, tc.want)
			}
		})
	}
}
