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
	var r result.Run
	return &r, json.Unmarshal(b, &r)
}
