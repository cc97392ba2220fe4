package dashboard

// LoginForm is the hidden field of step 1's page for a nonce, for a test
// that forges both.
var LoginForm = loginForm
