package config

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Problems is every problem found in a configuration, each with its key path.
type Problems []string

func (p *Problems) add(path, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if path != "" {
		line = path + ": " + line
	}
	*p = append(*p, oneLine(line))
}

// oneLine escapes what would break a problem's line or not print: a map
// key of the file ("weird\nkey") or a value named as it is.
func oneLine(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) < 0 {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case unicode.IsPrint(r) || r == ' ':
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		s = s[n:]
	}
	return b.String()
}

func (p Problems) Error() string {
	return "invalid configuration:\n  " + strings.Join(p, "\n  ")
}

var durationType = reflect.TypeOf(time.Duration(0))

// decodeNode decodes a YAML node into v strictly: unknown keys and values of
// the wrong type are reported with their key path, and decoding goes on so
// every problem is found in one pass.
func decodeNode(n *yaml.Node, v reflect.Value, path string, probs *Problems) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Tag == "!!null" {
		return
	}
	switch {
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		decodeNode(n, v.Elem(), path, probs)
	case v.Kind() == reflect.Struct && v.Type() != reflect.TypeOf(time.Time{}):
		if n.Kind != yaml.MappingNode {
			probs.add(path, "expected a mapping")
			return
		}
		fields := structFields(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			idx, ok := fields[key]
			if !ok {
				probs.add(join(path, key), "unknown key (line %d)", n.Content[i].Line)
				continue
			}
			decodeNode(n.Content[i+1], v.FieldByIndex(idx), join(path, key), probs)
		}
	case v.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			probs.add(path, "expected a mapping")
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			elem := reflect.New(v.Type().Elem()).Elem()
			if old := v.MapIndex(reflect.ValueOf(key)); old.IsValid() {
				elem.Set(old)
			}
			decodeNode(n.Content[i+1], elem, join(path, key), probs)
			v.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), elem)
		}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		if n.Kind != yaml.SequenceNode {
			probs.add(path, "expected a list")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			decodeNode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i), probs)
		}
		v.Set(s)
	default:
		if err := n.Decode(v.Addr().Interface()); err != nil {
			probs.add(path, "bad value %q (line %d): want %s", n.Value, n.Line, kindName(v.Type()))
		}
	}
}

func kindName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as 30s, 5m or 4h"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "an integer"
	case t.Kind() == reflect.Float64 || t.Kind() == reflect.Float32:
		return "a number"
	}
	return t.Kind().String()
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// structFields maps yaml key → field index, following inline embedded structs.
func structFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, idx := range structFields(f.Type) {
				out[k] = append([]int{i}, idx...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = []int{i}
	}
	return out
}

// applyEnv overrides any key from the environment: the key path upper-cased,
// dots to underscores, prefixed OPSBOT_ (targets by index: OPSBOT_TARGETS_0_HEALTH_URL;
// maps by key: OPSBOT_ROLES_ADMIN_USERS). Values are read as YAML scalars or
// flow lists ("[a, b]"); strings are taken as they are.
func applyEnv(v reflect.Value, prefix, path string, env map[string]string, probs *Problems) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			applyEnv(v.Elem(), prefix, path, env, probs)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			break
		}
		fields := structFields(v.Type())
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			applyEnv(v.FieldByIndex(fields[k]), prefix+"_"+envPart(k), join(path, k), env, probs)
		}
		return
	case reflect.Map:
		for _, mk := range v.MapKeys() {
			elem := reflect.New(v.Type().Elem()).Elem()
			elem.Set(v.MapIndex(mk))
			applyEnv(elem, prefix+"_"+envPart(mk.String()), join(path, mk.String()), env, probs)
			v.SetMapIndex(mk, elem)
		}
		return
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Struct {
			for i := 0; i < v.Len(); i++ {
				applyEnv(v.Index(i), prefix+"_"+strconv.Itoa(i), fmt.Sprintf("%s[%d]", path, i), env, probs)
			}
			return
		}
	}
	val, ok := env[prefix]
	if !ok || v.Kind() == reflect.Struct || v.Kind() == reflect.Map {
		return
	}
	if v.Kind() == reflect.String {
		v.SetString(val)
		return
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(val), &n); err != nil || len(n.Content) == 0 {
		probs.add(path, "bad value %q in %s", val, prefix)
		return
	}
	if err := n.Content[0].Decode(v.Addr().Interface()); err != nil {
		probs.add(path, "bad value %q in %s: want %s", val, prefix, kindName(v.Type()))
	}
}

func envPart(k string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(k))
}

func environ() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}
