package config

import "regexp"

// secretToken is what a hidden value is shown as, as config.Secret does.
const secretToken = "<secret>"

// redactedHeaders returns h with every value hidden: custom headers often
// carry API keys or tokens (X-Api-Key, a bearer token), and the
// configuration cannot tell which do.
func redactedHeaders(h map[string]string) map[string]string {
	if h == nil {
		return nil
	}
	out := make(map[string]string, len(h))
	for k := range h {
		out[k] = secretToken
	}
	return out
}

// MarshalYAML implements yaml.Marshaler: header values are hidden (the URL
// and the HTTP client's secrets hide themselves).
func (c RemoteWriteConfig) MarshalYAML() (any, error) {
	type plain RemoteWriteConfig
	c.Headers = redactedHeaders(c.Headers)
	return plain(c), nil
}

// MarshalYAML implements yaml.Marshaler: header values are hidden.
func (c RemoteReadConfig) MarshalYAML() (any, error) {
	type plain RemoteReadConfig
	c.Headers = redactedHeaders(c.Headers)
	return plain(c), nil
}

// userinfoPassword finds the password of a URL's user info in free text,
// e.g. in url.Parse's error for a URL that does not parse (and so cannot be
// redacted with url.URL.Redacted).
var userinfoPassword = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^\s/?#@:"'` + "`" + `]*:)[^\s/?#@"'` + "`" + `]*@`)

// RedactURLPasswords replaces the passwords of URLs in s by "xxxxx", as
// url.URL.Redacted does.
func RedactURLPasswords(s string) string {
	return userinfoPassword.ReplaceAllString(s, "${1}xxxxx@")
}

// redactedError hides URL passwords in an error's text and keeps what it
// wraps for errors.Is and errors.As.
type redactedError struct{ err error }

func (e *redactedError) Error() string { return RedactURLPasswords(e.err.Error()) }
func (e *redactedError) Unwrap() error { return e.err }

// RedactError returns err with URL passwords hidden in its text (see
// RedactURLPasswords); errors.Is and errors.As still see what it wraps.
func RedactError(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err}
}
