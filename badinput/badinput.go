package badinput

import (
	"errors"
	"fmt"
	"strings"
)

// Error is the user's mistake at a place in their input. File, Line and Key
// are optional; Msg, or else Err, says what was wrong and what was expected.
type Error struct {
	File string
	Line int
	// Key is the dotted path of the offending key ("functions[0].service").
	Key string
	Msg string
	// Err is the underlying error when Msg is empty.
	Err error
}

func (e *Error) Error() string {
	msg := e.Msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if e.File == "" && e.Key == "" {
		return msg
	}
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	b.WriteString(msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Wrap marks err as the user's mistake; nil stays nil, and an error that
// already is one comes back as it is.
func Wrap(err error) error {
	if err == nil || Is(err) {
		return err
	}
	return &Error{Err: err}
}

// Errorf is Wrap(fmt.Errorf(format, args...)); %w keeps the wrapped error.
func Errorf(format string, args ...any) error {
	return &Error{Err: fmt.Errorf(format, args...)}
}

// Is reports whether err, or an error it wraps, is the user's mistake.
func Is(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
