package plans

import (
	"slices"
	"testing"
)

func TestPlaceholderAlternatives(t *testing.T) {
	t.Parallel()
	tpl := &Template{Name: "Renewal"}
	withAccount := &Deal{Name: "Tyrell - Renewal", Account: "Tyrell Corp", Contacts: []DealContact{{Name: "Rachael Tyrell", Primary: true}}}
	bare := &Deal{Name: "Tyrell - Renewal"}
	tests := []struct {
		in   string
		deal *Deal
		want string
	}{
		{"{{deal.account | deal.name}} renewal plan", withAccount, "Tyrell Corp renewal plan"},
		{"{{deal.account | deal.name}} renewal plan", bare, "Tyrell - Renewal renewal plan"},
		{`Hi {{buyer.first_name | "there"}},`, withAccount, "Hi Rachael,"},
		{`Hi {{ buyer.first_name|"there" }},`, bare, "Hi there,"},
		{`{{deal.account | buyer.name}}!`, bare, "!"},                           // every alternative empty
		{`{{deal.account | "a | b"}}`, bare, "a | b"},                           // a "|" inside quotes is text
		{`{{ "" | deal.name }}`, bare, ""},                                      // a literal ends the search, even empty
		{`{{deal.fields.Region | "EMEA"}}`, withAccount, "EMEA"},                // a missing CRM field falls through
		{`{{template.name}}: {{deal.name}}`, bare, "Renewal: Tyrell - Renewal"}, // plain placeholders unchanged
	}
	for _, tc := range tests {
		if got := render(tc.in, tc.deal, tpl); got != tc.want {
			t.Errorf("render(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPlaceholderAlternativesValidated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{`{{deal.account | deal.name}}`, nil},
		{`{{deal.acount | "x"}}`, []string{"deal.acount"}},
		{`{{deal.name | buyer.nam | "x}}`, []string{"buyer.nam", `"x`}},
		{`{{ | deal.name}}`, []string{""}},
	}
	for _, tc := range tests {
		if got := checkPlaceholders(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("checkPlaceholders(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
