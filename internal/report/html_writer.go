package report

import (
	"fmt"
	"strings"
)

// htmlWriter builds the HTML page. Its format strings are the page's own
// markup; every argument is text, escaped by escapeText as it is written,
// unless it is trustedHTML. The page is built in memory and written out
// whole.
type htmlWriter struct {
	b strings.Builder
}

// trustedHTML is markup the report made itself and escaped as it did (the
// charts' SVG); htmlWriter writes it as it is.
type trustedHTML string

// raw writes the page's own markup.
func (p *htmlWriter) raw(markup string) { p.b.WriteString(markup) }

// printf writes format, the page's own markup, with each %v replaced by
// its argument: a trustedHTML as it is, anything else as fmt.Sprint
// writes it, escaped as text.
func (p *htmlWriter) printf(format string, args ...any) {
	text := make([]any, len(args))
	for i, a := range args {
		if m, ok := a.(trustedHTML); ok {
			text[i] = string(m)
			continue
		}
		text[i] = escapeText(fmt.Sprint(a))
	}
	fmt.Fprintf(&p.b, format, text...)
}

// String returns the page written so far.
func (p *htmlWriter) String() string { return p.b.String() }

// escapeText escapes s for the page's text and its quoted attribute
// values: & < > " ' become character references, + becomes &#43; (so
// that no charset sniffing reads it as the start of a UTF-7 sequence)
// and NUL becomes U+FFFD. These are the characters html/template escaped
// when it wrote the page, so the page is the same.
func escapeText(s string) string { return escapeHTML(s, true) }

// escapeLabel escapes s as escapeText does, except +: the charts'
// aria-label, which the page always wrote so.
func escapeLabel(s string) string { return escapeHTML(s, false) }

func escapeHTML(s string, plus bool) string {
	special := "\x00\"&'<>"
	if plus {
		special += "+"
	}
	if !strings.ContainsAny(s, special) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0:
			b.WriteString("\uFFFD")
		case c == '"':
			b.WriteString("&#34;")
		case c == '&':
			b.WriteString("&amp;")
		case c == '\'':
			b.WriteString("&#39;")
		case c == '<':
			b.WriteString("&lt;")
		case c == '>':
			b.WriteString("&gt;")
		case c == '+' && plus:
			b.WriteString("&#43;")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
