package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v2"
)

// locateError names the field of a YAML error that the decoder reports
// without one: custom unmarshalers (durations, URLs, secrets, regexps)
// fail with their own message only ("not a valid duration string"). It
// decodes text again loosely, walks it along the YAML tags of Config and
// retries each field with an unmarshaler alone; the first field that fails
// the same way is prefixed to err, e.g. "global.step: not a valid duration
// string". Errors that already carry a line number are returned as they
// are.
func locateError(text string, err error) error {
	if strings.Contains(err.Error(), "line ") {
		return err
	}
	var raw any
	if yaml.Unmarshal([]byte(text), &raw) != nil {
		return err
	}
	if path := locate(raw, reflect.TypeFor[Config](), "", 0); path != "" {
		return fmt.Errorf("%s: %w", path, err)
	}
	return err
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// locate returns the path of the first value under raw that does not
// unmarshal into a value of type t, or "" when all do.
func locate(raw any, t reflect.Type, path string, depth int) string {
	if raw == nil || depth > 16 {
		return ""
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		items, ok := raw.([]any)
		if !ok {
			break
		}
		for i, item := range items {
			if p := locate(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), depth+1); p != "" {
				return p
			}
		}
		return ""
	case reflect.Map:
		m, ok := raw.(map[any]any)
		if !ok || t.Elem().Kind() == reflect.Interface {
			break
		}
		for k, v := range m {
			if p := locate(v, t.Elem(), fmt.Sprintf("%s.%v", path, k), depth+1); p != "" {
				return p
			}
		}
		return ""
	case reflect.Struct:
		// Structs of this package unmarshal their fields one by one below;
		// a leaf type with its own unmarshaler (from a library) is tried
		// whole.
		if t.PkgPath() != reflect.TypeFor[Config]().PkgPath() && reflect.PointerTo(t).Implements(unmarshalerType) {
			break
		}
		m, ok := raw.(map[any]any)
		if !ok {
			break
		}
		return locateFields(m, t, path, depth)
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		b, err := yaml.Marshal(raw)
		if err != nil {
			return ""
		}
		if yaml.Unmarshal(b, reflect.New(t).Interface()) != nil {
			return strings.TrimPrefix(path, ".")
		}
	}
	return ""
}

// locateFields walks the fields of struct type t, inline ones included.
func locateFields(m map[any]any, t reflect.Type, path string, depth int) string {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if p := locateFields(m, ft, path, depth+1); p != "" {
					return p
				}
			}
			continue
		}
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if v, ok := m[name]; ok {
			if p := locate(v, f.Type, path+"."+name, depth+1); p != "" {
				return p
			}
		}
	}
	return ""
}
