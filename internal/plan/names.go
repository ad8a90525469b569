package plan

import (
	"fmt"
	"strings"
)

// CheckNames refuses a list of names a flag gives (e.g. --runtimes) when
// it is empty (hint says what to do instead), holds an empty name, or
// lists a name twice.
func CheckNames(flag string, xs []string, hint string) error {
	if len(xs) == 0 {
		return fmt.Errorf("%s is empty: %s", flag, hint)
	}
	seen := map[string]bool{}
	for _, x := range xs {
		switch {
		case strings.TrimSpace(x) == "":
			return fmt.Errorf("%s %s: an empty name", flag, strings.Join(xs, ","))
		case seen[x]:
			return fmt.Errorf("%s: %s is listed twice", flag, x)
		}
		seen[x] = true
	}
	return nil
}
