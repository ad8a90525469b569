package setup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files in testdata/apt are real: captured from a Debian 12 machine
// (sources file, apt-get indextargets output, os-release) and apt's own
// example sources.list, with the mirror's host name replaced by
// mirror.example.

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "apt", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseIndexTargets(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "apt", "indextargets.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	targets, err := parseIndexTargets(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 3 {
		t.Fatalf("%d targets, want 3: %+v", len(targets), targets)
	}
	want := aptTarget{RepoURI: "http://mirror.example/debian-security/", Release: "bookworm-security", Origin: "Debian", Entry: "/etc/apt/sources.list.d/debian.sources:2"}
	if targets[2] != want {
		t.Errorf("last target %+v, want %+v", targets[2], want)
	}
	dist, err := findDistTarget(targets, distOrigin("debian"), "bookworm")
	if err != nil {
		t.Fatal(err)
	}
	if dist.Entry != "/etc/apt/sources.list.d/debian.sources:1" || dist.RepoURI != "http://mirror.example/debian/" {
		t.Errorf("distribution target %+v", dist)
	}
	if hasRelease(targets, "bookworm-backports") {
		t.Error("hasRelease(bookworm-backports) = true for a machine without it")
	}
	if !hasRelease(targets, "bookworm-updates") {
		t.Error("hasRelease(bookworm-updates) = false")
	}
	if _, err := findDistTarget(targets, "Ubuntu", "bookworm"); err == nil || !strings.Contains(err.Error(), "by hand") {
		t.Errorf("findDistTarget of a missing origin: %v", err)
	}
}

func TestParseIndexTargetsBad(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"too few fields", "http://x/ bookworm Debian\n", "line 1: 1 tab-separated fields"},
		{"empty release", "http://x/\t\tDebian\tf:1\n", "line 1: empty"},
		{"second line", "http://x/\tb\tD\tf:1\nbad\n", "line 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseIndexTargets(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// A variable apt has no value for (no Release file yet) reads as empty.
	got, err := parseIndexTargets(strings.NewReader("http://x/\tbookworm\t$(ORIGIN)\tf.sources:1\n"))
	if err != nil || len(got) != 1 || got[0].Origin != "" {
		t.Errorf("unset variable: %+v, %v", got, err)
	}
}

func TestParseOSRelease(t *testing.T) {
	osr, err := parseOSRelease(strings.NewReader(string(readTestdata(t, "os-release"))))
	if err != nil {
		t.Fatal(err)
	}
	if osr.ID != "debian" || osr.Codename != "bookworm" {
		t.Errorf("got %+v", osr)
	}
	if _, err := parseOSRelease(strings.NewReader("ID=debian\n")); err == nil {
		t.Error("os-release without a codename accepted")
	}
}

func TestBackportsSource(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		n        int
		uri      string
		wantExt  string
		want     string
		wantErr  string
		fileName string
	}{
		{
			name: "deb822 first stanza", file: "debian.sources", n: 1, uri: "http://mirror.example/debian/",
			wantExt: ".sources",
			want: "# Added by isobench setup: the bookworm-backports suite from the same source as /etc/apt/sources.list.d/debian.sources.\n" +
				"Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
		},
		{
			name: "deb822 wrong stanza", file: "debian.sources", n: 2, uri: "http://mirror.example/debian/",
			wantErr: "stanza 2 does not list URI",
		},
		{
			name: "deb822 no such stanza", file: "debian.sources", n: 3, uri: "http://mirror.example/debian/",
			wantErr: "no stanza 3 (the file has 2)",
		},
		{
			name: "one-line", file: "sources.list", n: 3, uri: "http://mirror.example/debian/",
			wantExt: ".list",
			want: "# Added by isobench setup: the bookworm-backports suite from the same source as /etc/apt/sources.list.d/sources.list.\n" +
				"deb http://mirror.example/debian bookworm-backports main contrib non-free non-free-firmware\n",
		},
		{
			name: "one-line with options and a comment", file: "sources.list", n: 11, uri: "http://mirror.example/debian",
			wantExt: ".list",
			want: "# Added by isobench setup: the bookworm-backports suite from the same source as /etc/apt/sources.list.d/sources.list.\n" +
				"deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example/debian bookworm-backports main\n",
		},
		{
			name: "one-line comment line", file: "sources.list", n: 1, uri: "http://mirror.example/debian/",
			wantErr: "not a deb line",
		},
		{
			name: "one-line other URI", file: "sources.list", n: 5, uri: "http://mirror.example/debian/",
			wantErr: "sources.list:5: line names URI http://mirror.example/debian-security",
		},
		{
			name: "one-line past the end", file: "sources.list", n: 99, uri: "http://mirror.example/debian/",
			wantErr: "apt names line 99",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := "/etc/apt/sources.list.d/" + tc.file
			ext, text, err := backportsSource(path, readTestdata(t, tc.file), tc.n, tc.uri, "bookworm-backports")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ext != tc.wantExt {
				t.Errorf("extension %q, want %q", ext, tc.wantExt)
			}
			if string(text) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", text, tc.want)
			}
		})
	}
}

func TestDeb822Stanza(t *testing.T) {
	in := "# only a comment\n\nA: 1\nB: multi\n line\n .\n more\n\n\n# c\nC: 3\n"
	st, err := deb822Stanza([]byte(in), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[1].value != "multi\nline\n\nmore" {
		t.Errorf("stanza 1 = %+v", st)
	}
	st, err = deb822Stanza([]byte(in), 2)
	if err != nil || len(st) != 1 || st[0].name != "C" {
		t.Errorf("stanza 2 = %+v, %v", st, err)
	}
	for _, bad := range []string{" leading continuation\n", "no colon here\n", "Bad Name: x\n"} {
		if _, err := deb822Stanza([]byte(bad), 1); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("deb822Stanza(%q): %v, want an error naming line 1", bad, err)
		}
	}
}

func TestSplitEntry(t *testing.T) {
	tests := []struct {
		in   string
		file string
		n    int
		ok   bool
	}{
		{"/etc/apt/sources.list:3", "/etc/apt/sources.list", 3, true},
		{"/x/y.sources:1", "/x/y.sources", 1, true},
		{"noline", "", 0, false},
		{"/x:0", "", 0, false},
		{"/x:abc", "", 0, false},
		{":1", "", 0, false},
	}
	for _, tc := range tests {
		file, n, err := splitEntry(tc.in)
		if (err == nil) != tc.ok || file != tc.file || n != tc.n {
			t.Errorf("splitEntry(%q) = %q, %d, %v", tc.in, file, n, err)
		}
	}
}

func FuzzBackportsSource(f *testing.F) {
	f.Add(readTestdata(f, "debian.sources"), 1, true)
	f.Add(readTestdata(f, "sources.list"), 3, false)
	f.Add([]byte("A: b\n c\n"), 1, true)
	f.Fuzz(func(t *testing.T, content []byte, n int, deb822 bool) {
		file := "/x.list"
		if deb822 {
			file = "/x.sources"
		}
		if n < 1 || n > 1000 {
			return
		}
		_, text, err := backportsSource(file, content, n, "http://mirror.example/debian", "bookworm-backports")
		if err == nil && !strings.Contains(string(text), "bookworm-backports") {
			t.Errorf("no error, and the source does not name the suite: %q", text)
		}
	})
}

func FuzzParseIndexTargets(f *testing.F) {
	f.Add(readTestdata(f, "indextargets-all.txt"))
	f.Add([]byte("a\tb\tc\td\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		targets, err := parseIndexTargets(strings.NewReader(string(in)))
		if err != nil {
			return
		}
		for _, tg := range targets {
			if tg.RepoURI == "" || tg.Release == "" || tg.Entry == "" {
				t.Errorf("target with empty fields accepted: %+v", tg)
			}
		}
	})
}
