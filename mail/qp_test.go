package mail_test

import (
	"io"
	"mime/quotedprintable"
	"strings"
)

func decodeQP(s string) (string, error) {
	b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(s)))
	return string(b), err
}
