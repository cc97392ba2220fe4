package zalotest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Lifetimes from the note: an access token lives 25 h (expires_in "90000"),
// a refresh token 3 months (taken as 90 days), a consent code 10 minutes.
const (
	accessLifetime  = 90000 * time.Second
	refreshLifetime = 90 * 24 * time.Hour
	codeLifetime    = 10 * time.Minute
)

// authCode is a consent code: single-use, bound to its PKCE challenge.
type authCode struct {
	challenge string
	expires   time.Time
	used      bool
}

// refreshToken is single-use: spent is set by the refresh that used it.
type refreshToken struct {
	expires time.Time
	spent   bool
}

// Authorize returns the code the consent page would redirect with after the
// OA admin agrees: single-use, valid 10 minutes by Now, bound to
// codeChallenge (S256: base64url of the verifier's SHA-256, unpadded). The
// exchange must then send the matching code_verifier. With codeChallenge ""
// the exchange takes no verifier, as for an app that does not use PKCE.
func (s *Server) Authorize(codeChallenge string) (code string) {
	code = token(80)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = &authCode{challenge: codeChallenge, expires: s.now().Add(codeLifetime)}
	return code
}

// IssueTokens returns a fresh token pair, as the developer console's API
// Explorer hands out.
func (s *Server) IssueTokens() (access, refresh string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueLocked()
}

func (s *Server) issueLocked() (access, refresh string) {
	now := s.now()
	access, refresh = token(200), token(200)
	s.access[access] = now.Add(accessLifetime)
	s.refresh[refresh] = &refreshToken{expires: now.Add(refreshLifetime)}
	s.notifyLocked()
	return access, refresh
}

// ExpireAccessTokens makes every access token issued so far expired from
// now: OA API calls with one answer -220 ("Access token has expired", the
// note's [DOC] code for expiry; an unknown token answers -216). Refresh
// tokens are untouched, so a refresh then works.
func (s *Server) ExpireAccessTokens() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, exp := range s.access {
		if exp.After(now) {
			s.access[t] = now
		}
	}
}

// Refreshes returns how many refreshes succeeded so far.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshN
}

// RefusedRefreshes returns how many refreshes were refused so far because
// their refresh token was already spent, expired or never issued. Two
// replicas spending the same token make it non-zero.
func (s *Server) RefusedRefreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusedN
}

// oauthError is the token endpoint's error body, HTTP 200, in the shape a
// real Zalo OAuth answer has in public issue reports ({"error":-1013,
// "error_name":"Invalid Parameter","error_reason":"","error_description":
// "…"}). The codes are the note's: -14014 for a refresh token refused; the
// note has none for a bad code, verifier, app id or secret, so those answer
// -14003 "Invalid parameter", which public guides report for such mistakes.
func oauthError(code int, description string) answer {
	name := errorText(code)
	if description == "" {
		description = name
	}
	return jsonAnswer(map[string]any{
		"error":             code,
		"error_name":        name,
		"error_reason":      "",
		"error_description": description,
	})
}

// accessToken serves POST /v4/oa/access_token: form-encoded, header
// secret_key = AppSecret, grant_type authorization_code or refresh_token.
// The answer's expires_in is a string, as Zalo sends it.
func (s *Server) accessToken(r *http.Request) answer {
	if r.Method != http.MethodPost {
		return oauthError(-14003, "the token endpoint takes POST")
	}
	if err := r.ParseForm(); err != nil {
		return oauthError(-14003, "can't parse the form: "+err.Error())
	}
	secret := r.Header.Get("secret_key")
	if subtle.ConstantTimeCompare([]byte(secret), []byte(s.AppSecret)) != 1 {
		return oauthError(-14003, "invalid secret_key")
	}
	if r.PostForm.Get("app_id") != s.AppID {
		return oauthError(-14003, "invalid app_id")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		c, ok := s.codes[r.PostForm.Get("code")]
		switch {
		case !ok:
			return oauthError(-14003, "invalid code")
		case c.used:
			return oauthError(-14003, "the code was already used")
		case !now.Before(c.expires):
			return oauthError(-14003, "the code has expired")
		case c.challenge != "" && pkceS256(r.PostForm.Get("code_verifier")) != c.challenge:
			return oauthError(-14003, "invalid code_verifier")
		}
		c.used = true
	case "refresh_token":
		rt, ok := s.refresh[r.PostForm.Get("refresh_token")]
		switch {
		case !ok:
			s.refusedN++
			s.notifyLocked()
			return oauthError(-14014, "invalid refresh_token")
		case rt.spent:
			s.refusedN++
			s.notifyLocked()
			return oauthError(-14014, "the refresh_token was already used")
		case !now.Before(rt.expires):
			s.refusedN++
			s.notifyLocked()
			return oauthError(-14014, "the refresh_token has expired")
		}
		rt.spent = true
		s.refreshN++
	default:
		return oauthError(-14003, "invalid grant_type")
	}
	access, refresh := s.issueLocked()
	return jsonAnswer(map[string]string{
		"access_token":  access,
		"refresh_token": refresh,
		"expires_in":    strconv.Itoa(int(accessLifetime / time.Second)),
	})
}

// pkceS256 is the S256 code challenge of verifier.
func pkceS256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// pathConsentErr is where the consent page sends the admin's browser when
// the link is wrong, with ?error_code=N (as public guides show it).
const pathConsentErr = "/v4/permission/error"

// permission serves GET /v4/oa/permission, the consent page, as if the OA
// admin agreed at once: it redirects (302) to redirect_uri with code, oa_id
// and the state given. A wrong app_id or redirect_uri redirects to the
// error page with error_code -14003 instead.
func (s *Server) permission(r *http.Request) answer {
	q := r.URL.Query()
	back, err := url.Parse(q.Get("redirect_uri"))
	if q.Get("app_id") != s.AppID || err != nil || !back.IsAbs() {
		return answer{status: http.StatusFound, location: s.URL + pathConsentErr + "?error_code=-14003"}
	}
	code := s.Authorize(q.Get("code_challenge"))
	v := back.Query()
	v.Set("code", code)
	v.Set("oa_id", s.OAID)
	if st := q.Get("state"); st != "" {
		v.Set("state", st)
	}
	back.RawQuery = v.Encode()
	return answer{status: http.StatusFound, location: back.String()}
}

// consentError is the consent flow's error page.
func (s *Server) consentError(r *http.Request) answer {
	code := r.URL.Query().Get("error_code")
	page := "<html><body><h1>Zalo</h1><p>Error " + html.EscapeString(code) + "</p></body></html>"
	return answer{status: http.StatusOK, body: []byte(page), html: true}
}
