package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Request is one request the server got.
type Request struct {
	Method, Path string
	Body         []byte
	// Operation is the operationId (or method and path) it matched.
	Operation string
	// Err says why it does not conform to the API description; nil when
	// it does.
	Err error
}

// Response is what the server answers to a method and path.
type Response struct {
	Status int
	Body   any
}

// Server is the stand-in API.
type Server struct {
	Socket string

	router    routers.Router
	responses map[string]Response
	mu        sync.Mutex
	requests  []Request
}

// LoadSpec reads an API description: OpenAPI 3, or Swagger 2 (converted
// to OpenAPI 3), in YAML or JSON.
func LoadSpec(path string) (*openapi3.T, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(b, []byte("\nswagger:")) || bytes.HasPrefix(b, []byte("swagger:")) {
		var doc2 openapi2.T
		if err := openapi2.UnmarshalFromData(b, &doc2); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		doc3, err := openapi2conv.ToV3(&doc2)
		if err != nil {
			return nil, fmt.Errorf("%s: converting to OpenAPI 3: %w", path, err)
		}
		return doc3, nil
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

// NewServer serves the API described by the spec file on a unix socket in
// a fresh directory, until the test ends. responses gives the answer to
// "METHOD /path" (the path as the client sends it, without the servers'
// prefix); anything else conforming gets 204 No Content.
func NewServer(t testing.TB, specPath string, responses map[string]Response) *Server {
	t.Helper()
	doc, err := LoadSpec(specPath)
	if err != nil {
		t.Fatal(err)
	}
	// The published descriptions are not perfect (Cloud Hypervisor's gives
	// "512 MB" as an integer's default); defaults are not what is tested.
	router, err := legacy.NewRouter(doc, openapi3.DisableSchemaDefaultsValidation())
	if err != nil {
		t.Fatalf("routing %s: %v", specPath, err)
	}
	dir, err := os.MkdirTemp("", "isobench-apitest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &Server{Socket: filepath.Join(dir, "api.sock"), router: router, responses: responses}
	l, err := net.Listen("unix", s.Socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

// ServeHTTP checks the request against the description, records it and
// answers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec := Request{Method: r.Method, Path: r.URL.Path, Body: body}
	check := r.Clone(context.Background())
	check.URL.Scheme, check.URL.Host = "http", "localhost"
	check.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := s.router.FindRoute(check)
	if err != nil {
		rec.Err = fmt.Errorf("%s %s is not in the API description: %w", r.Method, r.URL.Path, err)
	} else {
		rec.Operation = route.Operation.OperationID
		if rec.Operation == "" {
			rec.Operation = r.Method + " " + route.Path
		}
		in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route,
			Options: &openapi3filter.Options{MultiError: true}}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			rec.Err = fmt.Errorf("%s %s does not conform to the API description: %w", r.Method, r.URL.Path, err)
		}
		if err == nil && len(body) > 0 {
			// Schemas allow fields they do not name; a field the API does
			// not know is a mistake all the same.
			if err := unknownFields(body, route.Operation); err != nil {
				rec.Err = fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err)
			}
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	if rec.Err != nil {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"fault_message": rec.Err.Error()})
		return
	}
	resp, ok := s.responses[r.Method+" "+r.URL.Path]
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.Status)
	if resp.Body != nil {
		json.NewEncoder(w).Encode(resp.Body)
	}
}

// unknownFields reports object fields of the JSON body that the request
// body's schema does not declare, at any depth.
func unknownFields(body []byte, op *openapi3.Operation) error {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return fmt.Errorf("a body where the API takes none")
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	var bad []string
	walk(v, mt.Schema.Value, "", &bad)
	if len(bad) > 0 {
		return fmt.Errorf("fields the API does not declare: %s", strings.Join(bad, ", "))
	}
	return nil
}

func walk(v any, s *openapi3.Schema, at string, bad *[]string) {
	if s == nil {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if len(s.Properties) == 0 {
			return // a free-form object
		}
		for k, val := range x {
			p, ok := s.Properties[k]
			if !ok {
				*bad = append(*bad, at+k)
				continue
			}
			walk(val, p.Value, at+k+".", bad)
		}
	case []any:
		if s.Items != nil {
			for _, e := range x {
				walk(e, s.Items.Value, at+"[].", bad)
			}
		}
	}
}

// Requests returns what the server got, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}
