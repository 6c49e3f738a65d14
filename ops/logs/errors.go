package logs

import (
	"errors"
	"fmt"
)

// ErrInput marks errors caused by what the user asked (unknown log, bad
// regexp, bad time): they are shown as they are, in one line.
var ErrInput = errors.New("bad input")

type inputError struct{ msg string }

func (e *inputError) Error() string        { return e.msg }
func (e *inputError) Is(target error) bool { return target == ErrInput }

func badInput(format string, args ...any) error {
	return &inputError{msg: fmt.Sprintf(format, args...)}
}
