package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
)

// runInvite makes an invite from the command line, for bootstrapping a
// commune's coordinators and teams:
//
//	hangxom invite --area ID --role team|coordinator [--secretary] [--uses N] [--ttl DURATION] [--format text|json]
func runInvite(ctx context.Context, e *environ, args []string) error {
	fs := newFlagSet("invite")
	areaID := fs.String("area", "", "a hamlet id for a team member; a commune or province id for a coordinator")
	role := fs.String("role", "", "team or coordinator")
	uses := fs.Int("uses", 1, "how many people may join with the code")
	ttl := fs.String("ttl", "7d", "how long the code works: 7d, 48h …")
	format := fs.String("format", "text", "text or json")
	secretary := fs.Bool("secretary", false, "the people joining are party-cell secretaries (they see party-handbook progress by name)")
	cfg, err := e.settings(fs, args)
	if err != nil {
		return err
	}
	r := flows.Role(*role)
	if r != flows.RoleTeam && r != flows.RoleCoordinator {
		return usagef("--role: %q: use team or coordinator", *role)
	}
	if *uses < 1 || *uses > 1000 {
		return usagef("--uses: %d: use 1 to 1000", *uses)
	}
	life, err := parseDuration(*ttl)
	if err != nil {
		return usagef("--ttl: %v", err)
	}
	if *format != "text" && *format != "json" {
		return usagef("--format: %q: use text or json", *format)
	}
	if *areaID == "" {
		return usagef("--area: required (see \"hangxom areas list\")")
	}
	if err := requireRedis("invite", cfg, e.opts); err != nil {
		return err
	}
	a, err := e.open(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	area, ok := a.areas.Area(*areaID)
	if !ok {
		return usagef("--area: no area %q (see \"hangxom areas list\")", *areaID)
	}
	if (r == flows.RoleTeam) != (area.Level == flows.LevelHamlet) {
		return usagef("--area: %s is a %s; team members join a hamlet, coordinators a commune or the province", area.ID, area.Level)
	}
	code, err := desk.InviteCode(nil)
	if err != nil {
		return err
	}
	inv := flows.Invite{Code: code, AreaID: area.ID, AreaLevel: area.Level, Role: r, Uses: *uses, Secretary: *secretary,
		ExpiresAt: a.clock.Now().Add(life).UTC(), CreatedBy: "cli"}
	if err := a.store.CreateInvite(ctx, inv); err != nil {
		return err
	}
	link := desk.InviteLink(cfg.TelegramUsername, code)
	if *format == "json" {
		out := map[string]any{"code": code, "link": nil, "area_id": area.ID, "area_level": area.Level,
			"role": string(r), "secretary": *secretary, "expires_at": inv.ExpiresAt.Format("2006-01-02T15:04:05Z07:00")}
		if link != "" {
			out["link"] = link
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(e.stdout, "code: %s\n", code)
	if link != "" {
		fmt.Fprintf(e.stdout, "link: %s\n", link)
	} else {
		fmt.Fprintln(e.stderr, "hangxom: set TELEGRAM_BOT_USERNAME to print the t.me link")
	}
	roleText := string(r)
	if *secretary {
		roleText += " (party-cell secretary: sees the private flows' residents by name)"
	}
	// The expiry names its zone: a coordinator may read it far from BOT_TZ.
	fmt.Fprintf(e.stdout, "join: /join %s\nrole: %s of %s (%s)\nuses: %d, until %s (%s)\n", code, roleText, area.Name, area.ID, *uses,
		inv.ExpiresAt.In(cfg.TZ).Format("2006-01-02 15:04 MST"), cfg.TZName)
	return nil
}
