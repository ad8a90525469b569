package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// timeLayout is how times are stored: UTC, fixed width, nanoseconds, so that
// text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// encodeTime returns t as stored text, or NULL for the zero time.
func encodeTime(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: t.UTC().Format(timeLayout), Valid: true}
}

// decodeTime parses a stored time; NULL is the zero time.
func decodeTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, s.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad stored time %q: %w", s.String, err)
	}
	return t.UTC(), nil
}

// encodeJSON returns v as JSON text, or NULL when n, its length, is zero.
func encodeJSON(v any, n int) (sql.NullString, error) {
	if n == 0 {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return sql.NullString{}, err
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

// decodeJSON parses stored JSON text into dst; NULL leaves dst unchanged.
func decodeJSON(s sql.NullString, dst any) error {
	if !s.Valid {
		return nil
	}
	if err := json.Unmarshal([]byte(s.String), dst); err != nil {
		return fmt.Errorf("bad stored JSON %.40q: %w", s.String, err)
	}
	return nil
}

// encodeValue stores NaN as NULL, since SQLite has no NaN.
func encodeValue(v float64) sql.NullFloat64 {
	if math.IsNaN(v) {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: v, Valid: true}
}

func decodeValue(v sql.NullFloat64) float64 {
	if !v.Valid {
		return math.NaN()
	}
	return v.Float64
}
