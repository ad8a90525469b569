package main

import (
	"encoding/json"
	"os"

	"github.com/isobench/isobench/internal/result"
)

func readRun(path string) (*result.Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// run --json writes the report's JSON document: the trials are its
	// "trials", as in a stored run.
	var doc struct {
		Trials []result.Trial `json:"trials"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	return &result.Run{Trials: doc.Trials}, nil
}
