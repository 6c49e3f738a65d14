package app

import (
	"encoding/json"
	"net/http"
	"runtime"
)

func goVersion() string { return runtime.Version() }

func writeHealth(w http.ResponseWriter, code int, status string, checks map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "checks": checks})
}
