package mediaclient

import (
	"encoding/json"
	"errors"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeclient"
)

// Error is an error a call got from the server: it matches both the media
// sentinel (errors.Is(err, media.ErrNotFound)) and the wire error
// (errors.As(err, **rope.Error)), and its text is the server's message.
type Error struct {
	media *media.Error
	wire  error
}

// Error returns the server's message.
func (e *Error) Error() string { return e.media.Error() }

// Unwrap returns the media error and the wire error.
func (e *Error) Unwrap() []error { return []error{e.media, e.wire} }

// mediaCodes maps ROPE error codes to the media codes they mean on a media
// object: an object unknown to the server has closed.
var mediaCodes = map[rope.Code]string{
	rope.CodeInvalidParams:  media.CodeInvalidParams,
	rope.CodeInvalidState:   media.CodeInvalidState,
	rope.CodeObjectNotFound: media.CodeClosed,
}

// nameCodes maps a mediasoup error name to a media code when the server
// sent no data.detail.code.
var nameCodes = map[string]string{
	media.NameTypeError:         media.CodeInvalidParams,
	media.NameUnsupportedError:  media.CodeUnsupported,
	media.NameInvalidStateError: media.CodeInvalidState,
	media.NameNotFoundError:     media.CodeNotFound,
	media.NameDuplicateIDError:  media.CodeDuplicateID,
}

// fromWire rebuilds a media error from a server error; other errors (a
// dropped connection, a cancelled context) are returned as they are.
func fromWire(err error) error {
	var re *rope.Error
	if !errors.As(err, &re) {
		if errors.Is(err, ropeclient.ErrObjectClosed) {
			return &Error{media.ErrorFromWire(media.CodeClosed, err.Error()), err}
		}
		return err
	}
	code, ok := mediaCodes[re.Code]
	if re.Code == rope.CodeApplicationError {
		var d struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(re.Data.Detail, &d) != nil || d.Code == "" {
			d.Code = nameCodes[re.Data.Name]
		}
		code, ok = d.Code, true
	}
	if !ok {
		return err
	}
	return &Error{media.ErrorFromWire(code, re.Message), err}
}
