package warning

// Codes that more than one package gives. A code is stable; the message
// that goes with it is for people and may change.
const (
	// CodeInvalidInput: an option or reading was invalid and was replaced
	// or ignored.
	CodeInvalidInput = "invalid-input"
	// CodeHostLoad: other work was running on the host (its load average
	// at the start of a run, or other processes during a trial).
	CodeHostLoad = "host-load"
)

// A Warning is a problem that does not stop an analysis but should be shown
// with its results.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// String returns "code: message".
func (w Warning) String() string { return w.Code + ": " + w.Message }
