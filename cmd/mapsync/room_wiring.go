package main

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/web"
)

// withInvitations sets what buyer invitation links need on the API's options: the public URL
// links start with (server.public_url), their default life (server.invitation_ttl) and, when the
// config has an smtp host, the mailer that sends each new link to its member.
func (rt *runtime) withInvitations(o server.Options) server.Options {
	o.PublicURL = strings.TrimRight(rt.cfg.Server.PublicURL, "/")
	o.InvitationTTL = rt.cfg.Server.InvitationTTL.D()
	if m := rt.cfg.SMTP; m.Host != "" {
		mailer, err := web.NewMailer(web.MailerOptions{Host: m.Host, Port: m.Port, TLS: m.TLS, Username: m.Username,
			Password: m.Password.Reveal(), From: m.From})
		if err != nil {
			// config.Validate checked the same: links are still shown to the seller.
			rt.a.log.Error().Err(err).Msg("smtp: invitation links will not be mailed")
			return o
		}
		o.Mailer = mailer
	}
	return o
}

// demoBuyerLink makes an invitation link to plan p for its first buyer-side member (inviting a
// demo buyer to its first buyer role when it has none), as a seller would from the room, and
// returns the link and whom it is for.
func demoBuyerLink(ctx context.Context, st *store.Store, p *plans.Plan, base string) (link, who string, err error) {
	api, err := server.New(server.Options{Store: st, Logger: zerolog.Nop()})
	if err != nil {
		return "", "", err
	}
	req := server.InvitationRequest{}
	for _, m := range p.Members {
		if m.Side == plans.SideBuyer {
			req.MemberID = m.ID
			break
		}
	}
	if req.MemberID == "" {
		for _, r := range p.Roles {
			if r.Side == plans.SideBuyer {
				req.Email, req.Name, req.Role = "buyer@example.test", "Demo Buyer", r.Key
				break
			}
		}
	}
	if req.MemberID == "" && req.Role == "" {
		return "", "", fmt.Errorf("plan %s has no buyer-side role to invite to", p.ID)
	}
	res, err := api.Invite(ctx, p.ID, plans.Actor{ID: "mapsync-demo", Name: "mapsync demo", Side: plans.SideSeller}, req, base)
	if err != nil {
		return "", "", err
	}
	return res.Link, cmp.Or(res.Name, res.Email) + " (" + res.Role + ")", nil
}
