package media

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorsIs(t *testing.T) {
	t.Parallel()
	pe := &ParamError{Field: "rtpParameters.codecs[0].payloadType", Reason: "must be 0..127"}
	tests := []struct {
		name     string
		err      error
		target   error
		want     bool
		wantName string
	}{
		{"closed is invalid state", ErrClosed, ErrInvalidState, true, NameInvalidStateError},
		{"invalid state is not closed", ErrInvalidState, ErrClosed, false, NameInvalidStateError},
		{"param error", pe, ErrInvalidParams, true, NameTypeError},
		{"wrapped param error", fmt.Errorf("produce: %w", pe), ErrInvalidParams, true, NameTypeError},
		{"param error not unsupported", pe, ErrUnsupported, false, NameTypeError},
		{"new error", NewError(ErrNotFound, "producer %q not found", "x"), ErrNotFound, true, NameNotFoundError},
		{"from wire", ErrorFromWire(CodeClosed, "transport closed"), ErrInvalidState, true, NameInvalidStateError},
		{"from wire unknown", ErrorFromWire("weird", "x"), ErrInvalidState, false, NameError},
		{"duplicate", fmt.Errorf("x: %w", ErrDuplicateID), ErrDuplicateID, true, NameDuplicateIDError},
		{"plain", errors.New("x"), ErrNotFound, false, NameError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
			}
			if got := ErrorName(tt.err); got != tt.wantName {
				t.Errorf("ErrorName = %q, want %q", got, tt.wantName)
			}
		})
	}
	if got, want := pe.Error(), "rtpParameters.codecs[0].payloadType: must be 0..127"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
