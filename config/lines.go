package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// withLines adds the YAML line of each problem's key path
// ("routing.route.routes[0].matchers[1]: bad matcher" → "… (line 12)")
// where the file has that key, so a user finds every problem of a check in
// the file at once. Problems of the environment (OPSBOT_…) name no key of
// the file and stay as they are.
func withLines(data []byte, probs Problems) Problems {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil || len(root.Content) == 0 {
		return probs
	}
	out := make(Problems, len(probs))
	for i, p := range probs {
		out[i] = p
		path, _, ok := strings.Cut(p, ": ")
		if !ok || strings.Contains(p, "(line ") {
			continue
		}
		if line := lineOf(root.Content[0], path); line > 0 {
			out[i] = fmt.Sprintf("%s (line %d)", p, line)
		}
	}
	return out
}

// lineOf finds the node at a key path (a.b[2].c) and returns its line, or
// the line of the deepest key found when the rest is absent (0 if none).
func lineOf(n *yaml.Node, path string) int {
	line := 0
	for _, part := range strings.Split(path, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key != "" {
			if n.Kind != yaml.MappingNode {
				return line
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					line, n, found = n.Content[i].Line, n.Content[i+1], true
					break
				}
			}
			if !found {
				return line
			}
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			k, err := strconv.Atoi(idx)
			if err != nil || n.Kind != yaml.SequenceNode || k < 0 || k >= len(n.Content) {
				return line
			}
			n = n.Content[k]
			line = n.Line
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return line
}

// WithLines adds the YAML line of the file at path to each problem whose key
// path the file holds; problems found outside this package (verb names of
// the policy) get their lines this way. Without a file they are returned as
// they are.
func WithLines(path string, probs []string) Problems {
	if path == "" || len(probs) == 0 {
		return probs
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return probs
	}
	return withLines(data, probs)
}
