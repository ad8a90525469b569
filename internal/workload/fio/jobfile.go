package fio

import (
	"encoding/json"
	"fmt"
	"strings"
)

// A user's job file is untrusted input that fio runs with the sandbox's
// privileges, which for the host baseline are root's on the host itself.
// Some of its options run commands: exec_prerun and exec_postrun run a
// shell command (fio hands "VALUE > JOB.prerun.txt 2>&1" to system(3)),
// ioengine=exec runs the program= option's program, and an ioengine that is
// not one of fio's own is loaded as a shared object (ioengine=external:PATH,
// or any other name, which fio passes to dlopen(3)), which runs its code.
// Such a file is refused unless the command line allows it (--allow-exec).
//
// The scanner reads the file the way fio's ini parser does (init.c,
// __parse_jobs_ini, and parse.c): lines split at '\n'; a line whose first
// character that is not white space or a control character is ';' or '#'
// is a comment; otherwise leading white space goes, a line starting with
// '[' starts a section, anything from the first ';' or '#' on is cut, then
// trailing white space; a line starting with "include" is an include
// directive; any other line is an option, KEY=VALUE or KEY alone, the key
// being what comes before the first '=' with trailing white space cut.
// Option names are matched exactly by fio (strcmp); the scanner matches
// them regardless of case, which only ever refuses more.
//
// Where fio would read the file differently from a plain reading, or do
// something the scanner cannot see, the file is refused outright:
// include directives (the included file is not copied and cannot be
// checked), lines longer than fio reads at once (fgets would split them
// and fio would read the tail as a line of its own), control characters
// (fio's comment test skips them, its blank stripping does not), and
// option names with '$' (fio expands ${VAR} from the environment and
// $pagesize-style keywords over the whole KEY=VALUE text, so such a name
// could become any option).

// maxJobLine bounds a job file's line: fio reads lines with fgets into a
// buffer of OPT_LEN_MAX bytes (4096 in older fio, 8192 in newer).
const maxJobLine = 4000

// jobOption is one option line of a job file.
type jobOption struct {
	Line     int    // 1-based
	Section  string // the job's name; "" before the first section
	Key      string
	Value    string // white space trimmed
	HasValue bool   // KEY=VALUE rather than KEY alone
}

// jobFileError is a job file line isobench refuses.
type jobFileError struct {
	Line int
	Msg  string
}

func (e *jobFileError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// isSpace is C's isspace in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func trimLeftSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}

func trimRightSpace(s string) string {
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// scanJobFile reads the options of a job file's text (see above). It
// returns the first line it refuses as a *jobFileError.
func scanJobFile(text string) ([]jobOption, error) {
	var opts []jobOption
	section := ""
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		if len(line) > maxJobLine {
			return nil, &jobFileError{n, fmt.Sprintf("a line of %d bytes; fio reads at most %d at once and would read the rest as a line of its own", len(line), maxJobLine)}
		}
		for _, c := range []byte(line) {
			if c < 0x20 && !isSpace(c) || c == 0x7f {
				return nil, &jobFileError{n, fmt.Sprintf("a control character (%#02x); a job file is plain text", c)}
			}
		}
		s := trimLeftSpace(line)
		if s == "" || s[0] == ';' || s[0] == '#' {
			continue
		}
		if k := strings.IndexAny(s, ";#"); k >= 0 {
			s = s[:k]
		}
		s = trimRightSpace(s)
		if s == "" {
			continue
		}
		if s[0] == '[' {
			section = strings.TrimSuffix(s[1:], "]")
			continue
		}
		if len(s) >= len("include") && strings.EqualFold(s[:len("include")], "include") {
			return nil, &jobFileError{n, "an include directive; isobench copies only this file into the sandbox and cannot check another (paste its options in instead)"}
		}
		o := jobOption{Line: n, Section: section, Key: s}
		if k := strings.IndexByte(s, '='); k >= 0 {
			o.Key, o.Value, o.HasValue = trimRightSpace(s[:k]), strings.TrimFunc(s[k+1:], func(r rune) bool { return r < 0x80 && isSpace(byte(r)) }), true
		}
		if strings.Contains(o.Key, "$") {
			return nil, &jobFileError{n, fmt.Sprintf("option name %q has a '$': fio expands ${VAR} and $keywords in it, so isobench cannot tell which option it is", o.Key)}
		}
		opts = append(opts, o)
	}
	return opts, nil
}

// builtinEngines are fio's own I/O engines, built in or shipped as its
// plugins: names fio does not pass to dlopen(3) as a file of the user's.
// exec is not among them: it runs a program.
var builtinEngines = map[string]bool{
	"sync": true, "psync": true, "vsync": true, "pvsync": true, "pvsync2": true,
	"libaio": true, "linuxaio": true, "aio": true, "posixaio": true, "io_uring": true, "io_uring_cmd": true,
	"mmap": true, "splice": true, "null": true, "sg": true, "net": true, "netsplice": true,
	"cpuio": true, "falloc": true, "e4defrag": true, "ftruncate": true,
	"filecreate": true, "filestat": true, "filedelete": true, "dircreate": true, "dirstat": true, "dirdelete": true,
	"rdma": true, "mtd": true, "http": true, "nbd": true, "rbd": true, "rados": true, "nfs": true,
	"libpmem": true, "dev-dax": true, "libzbc": true, "xnvme": true, "libblkio": true,
	"gfapi": true, "gfapi_async": true, "libhdfs": true, "libiscsi": true, "dfs": true,
}

// execFinding is an option of a job file that runs a command or loads
// code.
type execFinding struct {
	Opt jobOption
	// Does says what the option does, for the error ("runs a shell
	// command").
	Does string
}

// execOptions returns the options that run commands or load code.
func execOptions(opts []jobOption) []execFinding {
	var out []execFinding
	for _, o := range opts {
		switch strings.ToLower(o.Key) {
		case "exec_prerun", "exec_postrun":
			out = append(out, execFinding{o, "runs a shell command"})
		case "program":
			out = append(out, execFinding{o, "names the program that ioengine=exec runs"})
		case "ioengine":
			engine := strings.ToLower(o.Value)
			switch {
			case engine == "exec":
				out = append(out, execFinding{o, "runs the program of the program= option"})
			case strings.HasPrefix(engine, "external"):
				out = append(out, execFinding{o, "loads an I/O engine from a file, which runs its code"})
			case !builtinEngines[engine]:
				out = append(out, execFinding{o, fmt.Sprintf("names %q, which is not one of fio's own engines: fio loads it as a shared object, which runs its code", clip(o.Value, 80))})
			}
		}
	}
	return out
}

// pathOptions are the options whose value names files fio reads or
// writes (or, for ioscheduler and cgroup, host state it changes).
var pathOptions = map[string]bool{
	"filename": true, "directory": true, "filename_format": true, "opendir": true,
	"read_iolog": true, "write_iolog": true, "replay_redirect": true, "merge_blktrace_file": true,
	"write_bw_log": true, "write_lat_log": true, "write_iops_log": true, "write_hist_log": true,
	"dp_scheme": true,
}

// outsideScratch returns the options that name files outside the scratch
// directory: an absolute path or one that climbs out with "..". On the
// host baseline those are the host's own files, read or written as root.
func outsideScratch(opts []jobOption) []jobOption {
	var out []jobOption
	for _, o := range opts {
		if !pathOptions[strings.ToLower(o.Key)] {
			continue
		}
		// fio separates several files with ':'.
		for _, f := range strings.Split(o.Value, ":") {
			f = strings.TrimSpace(f)
			if strings.HasPrefix(f, "/") || f == ".." || strings.HasPrefix(f, "../") || strings.Contains(f, "/../") || strings.HasSuffix(f, "/..") || strings.Contains(f, "$") {
				out = append(out, o)
				break
			}
		}
	}
	return out
}

// withoutOptions returns fio's output with the options its JSON document
// repeats ("global options" and each job's "job options", name and
// description: the job file's text in another form) left out; the text around the document stays.
// Output whose document cannot be read keeps its text before the document
// only.
func withoutOptions(out string) string {
	start := jsonStart(out)
	if start < 0 {
		return out
	}
	dec := json.NewDecoder(strings.NewReader(out[start:]))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return out[:start] + "(fio's JSON output is left out: it could not be read to remove the job file's options; --store-profile keeps it)\n"
	}
	delete(doc, "global options")
	if jobs, ok := doc["jobs"].([]any); ok {
		for _, j := range jobs {
			if m, ok := j.(map[string]any); ok {
				// The job's name and description are the file's text too.
				delete(m, "job options")
				delete(m, "jobname")
				delete(m, "desc")
			}
		}
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return out[:start]
	}
	return out[:start] + b.String() + strings.TrimPrefix(out[start+int(dec.InputOffset()):], "\n")
}
