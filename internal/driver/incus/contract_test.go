package incus

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/isobench/isobench/internal/driver"
)

// The contract check: every request the driver sends is checked against
// Incus's published REST API description (an excerpt of it, see
// testdata/README.md). It runs on the requests the real tests sent to a
// real incusd, and on crafted requests to show it catches what it must.

// apiSpec is the part of a Swagger 2.0 document the check reads.
type apiSpec struct {
	Paths       map[string]map[string]specOp `yaml:"paths"`
	Definitions map[string]*specSchema       `yaml:"definitions"`
}

type specOp struct {
	OperationID string      `yaml:"operationId"`
	Parameters  []specParam `yaml:"parameters"`
}

type specParam struct {
	In       string      `yaml:"in"`
	Name     string      `yaml:"name"`
	Type     string      `yaml:"type"`
	Enum     []string    `yaml:"enum"`
	Required bool        `yaml:"required"`
	Schema   *specSchema `yaml:"schema"`
}

type specSchema struct {
	Ref                  string                 `yaml:"$ref"`
	Type                 string                 `yaml:"type"`
	Properties           map[string]*specSchema `yaml:"properties"`
	AdditionalProperties *specSchema            `yaml:"additionalProperties"`
	Items                *specSchema            `yaml:"items"`
}

var loadSpecOnce = sync.OnceValues(func() (*apiSpec, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "rest-api-excerpt.yaml"))
	if err != nil {
		return nil, err
	}
	var s apiSpec
	if err := yaml.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("rest-api-excerpt.yaml: %w", err)
	}
	return &s, nil
})

// matchPath returns the description's path key for a request path and
// query: templates match segment by segment, and recursion=1 selects the
// key Incus gives collection reads with it.
func (s *apiSpec) matchPath(path string, query url.Values) (string, bool) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	suffix := ""
	if query.Get("recursion") != "" {
		suffix = "?recursion=" + query.Get("recursion")
	}
	keys := make([]string, 0, len(s.Paths))
	for k := range s.Paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		tmpl, q, _ := strings.Cut(key, "?")
		if (q == "") != (suffix == "") || (q != "" && "?"+q != suffix) {
			continue
		}
		tsegs := strings.Split(strings.TrimPrefix(tmpl, "/"), "/")
		if len(tsegs) != len(segs) {
			continue
		}
		ok := true
		for i, t := range tsegs {
			if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
				ok = ok && segs[i] != ""
				continue
			}
			ok = ok && t == segs[i]
		}
		if ok {
			return key, true
		}
	}
	return "", false
}

// checkRequest returns what is wrong with a request against the
// description; nil when nothing is.
func (s *apiSpec) checkRequest(r Request) []string {
	var errs []string
	key, ok := s.matchPath(r.Path, r.Query)
	if !ok {
		return []string{fmt.Sprintf("%s %s: no such path in the REST API description", r.Method, r.Path)}
	}
	op, ok := s.Paths[key][strings.ToLower(r.Method)]
	if !ok {
		return []string{fmt.Sprintf("%s %s: path %s has no %s operation", r.Method, r.Path, key, r.Method)}
	}
	params := map[string]specParam{}
	var body *specParam
	for i, p := range op.Parameters {
		switch p.In {
		case "query", "header":
			params[p.In+":"+strings.ToLower(p.Name)] = p
		case "body":
			if p.Schema != nil && body == nil {
				body = &op.Parameters[i]
			}
		}
	}
	what := r.Method + " " + r.Path + " (" + op.OperationID + ")"
	for name, vals := range r.Query {
		if name == "recursion" && strings.Contains(key, "?recursion=") {
			continue
		}
		p, ok := params["query:"+strings.ToLower(name)]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: undeclared query parameter %q", what, name))
			continue
		}
		for _, v := range vals {
			if msg := checkScalar(p.Type, p.Enum, v); msg != "" {
				errs = append(errs, fmt.Sprintf("%s: query parameter %s=%q: %s", what, name, v, msg))
			}
		}
	}
	for name, vals := range r.Header {
		if !strings.HasPrefix(strings.ToLower(name), "x-incus-") {
			continue
		}
		p, ok := params["header:"+strings.ToLower(name)]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: undeclared header %q", what, name))
			continue
		}
		if p.Schema != nil {
			for _, v := range vals {
				if msg := checkScalar(p.Schema.Type, nil, v); msg != "" && p.Schema.Type != "object" && p.Schema.Type != "array" {
					errs = append(errs, fmt.Sprintf("%s: header %s=%q: %s", what, name, v, msg))
				}
			}
		}
	}
	if r.Body != nil {
		if body == nil {
			errs = append(errs, fmt.Sprintf("%s: sends a JSON body, the operation takes none", what))
		} else {
			var v any
			if err := json.Unmarshal(r.Body, &v); err != nil {
				errs = append(errs, fmt.Sprintf("%s: body is not JSON: %v", what, err))
			} else {
				for _, msg := range s.checkValue(body.Schema, v, "body") {
					errs = append(errs, what+": "+msg)
				}
			}
		}
	} else if body != nil && body.Required && r.Method != http.MethodGet {
		errs = append(errs, fmt.Sprintf("%s: required body %q not sent", what, body.Name))
	}
	return errs
}

// checkScalar checks a query or header value against a parameter type.
func checkScalar(typ string, enum []string, v string) string {
	switch typ {
	case "integer":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return "not an integer"
		}
	case "boolean":
		if _, err := strconv.ParseBool(v); err != nil {
			return "not a boolean"
		}
	}
	if len(enum) > 0 {
		for _, e := range enum {
			if e == v {
				return ""
			}
		}
		return fmt.Sprintf("not one of %v", enum)
	}
	return ""
}

// checkValue checks a decoded JSON value against a schema: types, and no
// property the schema does not declare.
func (s *apiSpec) checkValue(sc *specSchema, v any, where string) []string {
	for depth := 0; sc != nil && sc.Ref != ""; depth++ {
		name := strings.TrimPrefix(sc.Ref, "#/definitions/")
		def, ok := s.Definitions[name]
		if !ok || depth > 10 {
			return []string{fmt.Sprintf("%s: definition %s is not in the description excerpt", where, name)}
		}
		sc = def
	}
	if sc == nil {
		return nil
	}
	var errs []string
	switch sc.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an object", where, v)}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, ok := sc.Properties[k]; ok {
				errs = append(errs, s.checkValue(p, m[k], where+"."+k)...)
			} else if sc.AdditionalProperties != nil {
				errs = append(errs, s.checkValue(sc.AdditionalProperties, m[k], where+"."+k)...)
			} else {
				errs = append(errs, fmt.Sprintf("%s: property %q is not in the description", where, k))
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an array", where, v)}
		}
		for i, x := range a {
			errs = append(errs, s.checkValue(sc.Items, x, fmt.Sprintf("%s[%d]", where, i))...)
		}
	case "string":
		if _, ok := v.(string); !ok {
			errs = append(errs, fmt.Sprintf("%s: %T, want a string", where, v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			errs = append(errs, fmt.Sprintf("%s: %T, want a boolean", where, v))
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			errs = append(errs, fmt.Sprintf("%s: %v, want an integer", where, v))
		}
	}
	return errs
}

// checkContract fails the test for every request that does not match the
// description, and says how many were checked.
func checkContract(t *testing.T, reqs []Request) {
	t.Helper()
	spec, err := loadSpecOnce()
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	bad := 0
	for _, r := range reqs {
		errs := spec.checkRequest(r)
		for _, e := range errs {
			if bad < 20 {
				t.Errorf("contract: %s", e)
			}
			bad++
		}
		if key, ok := spec.matchPath(r.Path, r.Query); ok {
			ops[r.Method+" "+key]++
		}
	}
	if bad > 20 {
		t.Errorf("contract: %d more violations", bad-20)
	}
	t.Logf("contract: %d requests to %d operations checked against the REST API description", len(reqs), len(ops))
}

func TestContractChecker(t *testing.T) {
	spec, err := loadSpecOnce()
	if err != nil {
		t.Fatal(err)
	}
	name := "isobench-x"
	good := []Request{
		{Method: "GET", Path: "/1.0"},
		{Method: "POST", Path: apiPath("instances"), Body: mustJSON(t, (&Driver{}).instanceBody(testSpec(name), "isobench-img", "isobench", "", "1:2"))},
		{Method: "PUT", Path: apiPath("instances", name, "state"), Body: mustJSON(t, map[string]any{"action": "stop", "force": true, "timeout": -1})},
		{Method: "POST", Path: apiPath("instances", name, "exec"), Body: mustJSON(t, execBody([]string{"/bin/true"}))},
		{Method: "GET", Path: apiPath("instances"), Query: url.Values{"recursion": {"1"}}},
		{Method: "GET", Path: apiPath("operations", "abc", "wait"), Query: url.Values{"timeout": {"30"}}},
		{Method: "POST", Path: apiPath("images"), Header: http.Header{"X-Incus-Public": {"false"}}},
	}
	for _, r := range good {
		if errs := spec.checkRequest(r); len(errs) > 0 {
			t.Errorf("%s %s: %v", r.Method, r.Path, errs)
		}
	}
	bad := []struct {
		name string
		r    Request
		want string
	}{
		{"unknown path", Request{Method: "GET", Path: "/1.0/containers"}, "no such path"},
		{"unknown method", Request{Method: "PATCH", Path: apiPath("instances", name, "exec")}, "has no PATCH operation"},
		{"unknown query", Request{Method: "GET", Path: apiPath("operations", "abc", "wait"), Query: url.Values{"timeout_s": {"3"}}}, `undeclared query parameter "timeout_s"`},
		{"query type", Request{Method: "GET", Path: apiPath("operations", "abc", "wait"), Query: url.Values{"timeout": {"soon"}}}, "not an integer"},
		{"enum", Request{Method: "GET", Path: apiPath("instances", name, "console"), Query: url.Values{"type": {"text"}}}, "not one of"},
		{"unknown header", Request{Method: "POST", Path: apiPath("images"), Header: http.Header{"X-Incus-Alias": {"x"}}}, "undeclared header"},
		{"unknown property", Request{Method: "POST", Path: apiPath("instances", name, "exec"), Body: []byte(`{"command":["x"],"wait_for_websocket":true}`)}, `property "wait_for_websocket"`},
		{"property type", Request{Method: "PUT", Path: apiPath("instances", name, "state"), Body: []byte(`{"action":"stop","timeout":"10s"}`)}, "body.timeout"},
		{"nested property", Request{Method: "POST", Path: apiPath("instances"), Body: []byte(`{"name":"x","source":{"type":"image","image":"y"}}`)}, `body.source: property "image"`},
		{"device value type", Request{Method: "POST", Path: apiPath("instances"), Body: []byte(`{"devices":{"root":{"size":10}}}`)}, "body.devices.root.size"},
		{"missing required body", Request{Method: "POST", Path: apiPath("storage-pools")}, "required body"},
		{"body where none", Request{Method: "DELETE", Path: apiPath("instances", name), Body: []byte(`{}`)}, "takes none"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			errs := spec.checkRequest(tc.r)
			if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
				t.Errorf("check says %q, want a complaint containing %q", errs, tc.want)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testSpec is a spec using every option instanceBody turns into request
// fields.
func testSpec(name string) driver.Spec {
	return driver.Spec{ID: name, Scratch: driver.ScratchVolume, CPUs: 2, MemoryBytes: 1 << 30, Labels: map[string]string{"run": "r1"}}
}
