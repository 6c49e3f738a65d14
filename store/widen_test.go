package store_test

import (
	"os"
	"testing"

	"opsbot/store/storetest"
)

// Every case of this package that uses storetest.Each also runs on a
// widened schema: a column added by a newer release's migration must not
// break any query of this one (a rolling upgrade).
func TestMain(m *testing.M) {
	storetest.WidenEach()
	os.Exit(m.Run())
}
