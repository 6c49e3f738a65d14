//go:build !unix

package backup

func freeBytes(string) (int64, bool) { return 0, false }

func spaceHint(string, string) string { return "" }
