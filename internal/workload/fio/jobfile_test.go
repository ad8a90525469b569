package fio

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/workload"
)

// TestProfileExec builds hostile job files and checks that each option
// that runs a command or loads code is refused without --allow-exec, with
// the file, line and option in the error, and let through with it; and
// that what isobench cannot check is refused either way.
func TestProfileExec(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, text string
		// line and option of the refusal without the grant ("" : none).
		line, opt string
		// always: refused even with the grant.
		always string
	}{
		{name: "plain", text: "[j]\nrw=read\nsize=1m\n"},
		{name: "prerun", text: "[global]\nsize=1m\n\n[j]\nrw=read\n; a comment\nexec_prerun=touch /tmp/owned\n", line: "line 7", opt: "exec_prerun runs a shell command"},
		{name: "postrun", text: "[j]\nexec_postrun=rm -rf /\n", line: "line 2", opt: "exec_postrun runs a shell command"},
		{name: "spaces", text: "[j]\n  \t exec_prerun   =   id  \n", line: "line 2", opt: "exec_prerun"},
		{name: "crlf", text: "[j]\r\nexec_prerun=id\r\n", line: "line 2", opt: "exec_prerun"},
		{name: "case", text: "[j]\nEXEC_PreRun=id\n", line: "line 2", opt: "EXEC_PreRun"},
		{name: "no value", text: "[j]\nexec_postrun\n", line: "line 2", opt: "exec_postrun"},
		{name: "trailing comment", text: "[j]\nexec_prerun=id ; not a comment to the shell\n", line: "line 2", opt: "exec_prerun"},
		{name: "before any section", text: "exec_prerun=id\n[j]\n", line: "line 1", opt: "exec_prerun"},
		{name: "exec engine", text: "[j]\nioengine=exec\nprogram=/bin/sh\narguments=-c id\n", line: "line 2", opt: "ioengine runs the program"},
		{name: "exec engine program", text: "[j]\nioengine=exec\nprogram=/bin/sh\n", line: "line 3", opt: "program names the program"},
		{name: "exec engine case", text: "[j]\nioengine = EXEC\n", line: "line 2", opt: "ioengine"},
		{name: "external engine", text: "[j]\nioengine=external:/tmp/evil.so\n", line: "line 2", opt: "loads an I/O engine from a file"},
		{name: "engine path", text: "[j]\nioengine=/tmp/evil.so\n", line: "line 2", opt: "not one of fio's own engines"},
		{name: "engine from env", text: "[j]\nioengine=${ENGINE}\n", line: "line 2", opt: "not one of fio's own engines"},
		{name: "own engine", text: "[j]\nioengine = libaio\niodepth=4\n"},
		{name: "commented", text: "[j]\n; exec_prerun=id\n# exec_postrun=id\n   ;exec_prerun=id\nrw=read # exec_prerun=id\nrw=read;exec_prerun=id\n"},
		{name: "section name", text: "[exec_prerun=id]\nrw=read\n"},
		{name: "include", text: "[j]\ninclude other.fio\n", always: "line 2: an include directive"},
		{name: "include case", text: "[j]\n  INCLUDE other.fio\n", always: "line 2: an include directive"},
		{name: "env in name", text: "[j]\nexec_${X}prerun=id\n", always: "line 2: option name \"exec_${X}prerun\" has a '$'"},
		{name: "long line", text: "[j]\n;" + strings.Repeat(" ", maxJobLine) + "exec_prerun=id\n", always: "line 2: a line of"},
		{name: "control", text: "[j]\n\x01exec_prerun=id\n", always: "line 2: a control character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".fio")
			if err := os.WriteFile(file, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, allow := range []bool{false, true} {
				p := defaults(map[string]string{"job": JobProfile, "profile": file})
				if allow {
					p[workload.ParamAllowExec] = "true"
				}
				err := FIO{}.Check(driver.Info{}, p)
				_, derr := FIO{}.Disclose(p)
				if (err == nil) != (derr == nil) {
					t.Errorf("allow %v: Check says %v, Disclose %v", allow, err, derr)
				}
				switch {
				case tc.always != "":
					if err == nil || !strings.Contains(err.Error(), "fio profile "+file+" "+tc.always) {
						t.Errorf("allow %v: error %v, want %q", allow, err, tc.always)
					}
				case tc.line != "" && !allow:
					want := "fio profile " + file + " " + tc.line + ": "
					if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tc.opt) || !strings.Contains(err.Error(), "pass --allow-exec to allow it") {
						t.Errorf("error %v, want %q and %q", err, want, tc.opt)
					}
				default:
					if err != nil {
						t.Errorf("allow %v: %v", allow, err)
					}
				}
			}
		})
	}
}

// TestDisclose checks what the workload lists: the job file itself, the
// commands it was allowed to run, with their lines, and files outside the
// scratch directory.
func TestDisclose(t *testing.T) {
	file := filepath.Join(t.TempDir(), "jobs.fio")
	text := "[global]\nfilename=/dev/sdz\n[writer]\nrw=write\nexec_prerun=echo hello\nexec_postrun=echo bye\ndirectory=../up\n"
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if ds, err := (FIO{}).Disclose(defaults(map[string]string{"job": "seqread"})); err != nil || len(ds) != 0 {
		t.Errorf("built-in job discloses %v, %v", ds, err)
	}
	p := defaults(map[string]string{"job": JobProfile, "profile": file})
	if _, err := (FIO{}).Disclose(p); err == nil || !strings.Contains(err.Error(), "line 5: exec_prerun") || !strings.Contains(err.Error(), "line 6: exec_postrun") {
		t.Errorf("without the grant: %v, want both lines refused", err)
	}
	p[workload.ParamAllowExec] = "true"
	ds, err := FIO{}.Disclose(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []workload.Disclosure{
		{Kind: workload.DiscloseHostFile, Param: "profile", What: file},
		{Kind: workload.DiscloseCommand, Param: "profile", What: "echo hello", Sandboxed: true},
		{Kind: workload.DiscloseCommand, Param: "profile", What: "echo bye", Sandboxed: true},
		{Kind: workload.DiscloseHostFile, Param: "profile", What: "/dev/sdz", Sandboxed: true},
		{Kind: workload.DiscloseHostFile, Param: "profile", What: "../up", Sandboxed: true},
	}
	if len(ds) != len(want) {
		t.Fatalf("disclosed %d things, want %d: %+v", len(ds), len(want), ds)
	}
	for i, w := range want {
		got := ds[i]
		if got.Kind != w.Kind || got.Param != w.Param || got.What != w.What || got.Sandboxed != w.Sandboxed {
			t.Errorf("disclosure %d = %+v, want %+v", i, got, w)
		}
	}
	if !strings.Contains(ds[1].Note, "line 5, job [writer]: exec_prerun") || !strings.Contains(ds[0].Note, "sha256 digest") {
		t.Errorf("notes %q, %q", ds[0].Note, ds[1].Note)
	}
	p[workload.ParamStoreProfile] = "true"
	if ds, _ := (FIO{}).Disclose(p); !strings.Contains(ds[0].Note, "--store-profile") || strings.Contains(ds[0].Note, "not its text") {
		t.Errorf("with --store-profile the note says %q", ds[0].Note)
	}
}

// TestBuiltinEngine: the built-in jobs' ioengine parameter takes no engine
// that runs a program or loads code.
func TestBuiltinEngine(t *testing.T) {
	for _, e := range []string{"exec", "external", "external_x"} {
		err := FIO{}.Check(driver.Info{}, defaults(map[string]string{"job": "seqread", "ioengine": e}))
		if err == nil || !strings.Contains(err.Error(), "parameter ioengine") {
			t.Errorf("ioengine=%s: %v", e, err)
		}
	}
}

// TestWithoutOptions: fio's output as stored without --store-profile has
// none of the job file's text, and still reads as the same figures.
func TestWithoutOptions(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*-*.json"))
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out := "fio: a note before the document\n" + string(b)
		got := withoutOptions(out)
		for _, gone := range []string{`"global options"`, `"job options"`, `"jobname"`} {
			if strings.Contains(got, gone) {
				t.Errorf("%s: %s is still there", f, gone)
			}
		}
		if !strings.HasPrefix(got, "fio: a note before the document\n{") {
			t.Errorf("%s: the text before the document is lost: %.60q", f, got)
		}
		want, err1 := Parse(out)
		have, err2 := Parse(got)
		if (err1 == nil) != (err2 == nil) || err1 == nil && (want.Version != have.Version || (want.Read == nil) != (have.Read == nil) || want.Read != nil && want.Read.IOPS != have.Read.IOPS) {
			t.Errorf("%s: parsed %+v, %v; without options %+v, %v", f, want, err1, have, err2)
		}
	}
	if got := withoutOptions("no document\n"); got != "no document\n" {
		t.Errorf("no document: %q", got)
	}
	if got := withoutOptions("note\n{\"global options\": {\"exec_prerun\": \"x\""); strings.Contains(got, "exec_prerun") {
		t.Errorf("a cut document is kept: %q", got)
	}
}

// FuzzScanJobFile: the scanner takes any text without panicking, and
// what it returns holds to what fio's parser would make of a line.
func FuzzScanJobFile(f *testing.F) {
	for _, s := range []string{
		"[j]\nrw=read\n",
		"[global]\nexec_prerun=id ; x\n[j]\nioengine=external:/x.so\n",
		"include x\n",
		"[j]\nexec_${A}prerun=1\n",
		"  ;\n\t#\n[\n]\n=\n==\n",
		"[j]\r\nprogram = /bin/sh\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		opts, err := scanJobFile(text)
		var je *jobFileError
		if err != nil && !errors.As(err, &je) {
			t.Fatalf("error %T %v", err, err)
		}
		lines := strings.Count(text, "\n") + 1
		if je != nil && (je.Line < 1 || je.Line > lines) {
			t.Fatalf("error at line %d of %d", je.Line, lines)
		}
		for _, o := range opts {
			if o.Line < 1 || o.Line > lines {
				t.Fatalf("option at line %d of %d", o.Line, lines)
			}
			// fio's whitespace is C's isspace in the C locale: ASCII only
			// (U+0085 or U+00A0 are part of a name to fio, as to the scanner).
			if strings.ContainsAny(o.Key, "=;#$\n") || strings.ContainsAny(o.Value, ";#\n") || o.Key != strings.Trim(o.Key, " \t\n\v\f\r") {
				t.Fatalf("option %+v", o)
			}
		}
		execOptions(opts)
		outsideScratch(opts)
	})
}
