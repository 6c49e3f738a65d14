package restart

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

func randToken() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("offer rollback: token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
