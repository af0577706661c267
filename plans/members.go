package plans

import (
	"net/mail"
	"strings"
)

// Assignment follows roles: an action is assigned to a member of its owner role. When a role
// gains a member, its unassigned open actions go to that member; when a member leaves a role
// (removed or moved to another role), its actions go to another member of the role, or back to
// the role alone.

// InviteMember adds a person to the plan in a role and assigns the role's unassigned open actions
// to them. The role must exist; email must be a valid address not already in that role. Buyers
// can invite to buyer roles only.
func (p *Plan) InviteMember(c Change, m Member) (Member, []Event, error) {
	if err := p.active(); err != nil {
		return Member{}, nil, err
	}
	role := p.Role(m.Role)
	if role == nil {
		return Member{}, nil, &NotFoundError{Kind: "role", ID: m.Role}
	}
	if c.By.Side == SideBuyer && role.Side != SideBuyer {
		return Member{}, nil, invalid("role", "buyers can invite to buyer roles only")
	}
	m.Name = strings.TrimSpace(m.Name)
	if err := checkLength("name", m.Name, MaxName); err != nil {
		return Member{}, nil, err
	}
	if err := checkLength("email", m.Email, MaxEmail); err != nil {
		return Member{}, nil, err
	}
	if err := checkCount("email", "members", len(p.Members), MaxMembers); err != nil {
		return Member{}, nil, err
	}
	addr, err := mail.ParseAddress(m.Email)
	if err != nil || addr.Address != strings.TrimSpace(m.Email) {
		return Member{}, nil, invalid("email", "want an email address, got %q", m.Email)
	}
	if p.hasMember(m.Email, m.Role) {
		return Member{}, nil, invalid("email", "%s is already a member as %s", m.Email, m.Role)
	}
	m.ID = c.id()
	m.Side, m.Source, m.JoinedAt = role.Side, SourceInvited, c.At
	p.Members = append(p.Members, m)
	r := &recorder{p: p, c: c}
	r.add(EventMemberInvited, nil, nil, m)
	p.assignUnassigned(r, m)
	return m, r.done(), nil
}

// ChangeMemberRole moves a member to another role: their actions go to another member of the
// old role (or back to the role alone) and the new role's unassigned open actions come to them.
func (p *Plan) ChangeMemberRole(c Change, memberID, roleKey string) ([]Event, error) {
	if err := p.active(); err != nil {
		return nil, err
	}
	m := p.Member(memberID)
	if m == nil {
		return nil, &NotFoundError{Kind: "member", ID: memberID}
	}
	role := p.Role(roleKey)
	if role == nil {
		return nil, &NotFoundError{Kind: "role", ID: roleKey}
	}
	if c.By.Side == SideBuyer && (role.Side != SideBuyer || m.Side != SideBuyer) {
		return nil, invalid("role", "buyers can change buyer roles only")
	}
	if m.Role == roleKey {
		return nil, nil
	}
	if p.hasMember(m.Email, roleKey) && m.Email != "" {
		return nil, invalid("role", "%s is already a member as %s", m.Email, roleKey)
	}
	r := &recorder{p: p, c: c}
	r.add(EventMemberRoleChanged, nil, m.Role, roleKey)
	old := *m
	m.Role, m.Side = roleKey, role.Side
	p.handOver(r, old)
	p.assignUnassigned(r, *m)
	return r.done(), nil
}

// RemoveMember takes a member off the plan; their actions go to another member of the role, or
// back to the role alone.
func (p *Plan) RemoveMember(c Change, memberID string) ([]Event, error) {
	if err := p.active(); err != nil {
		return nil, err
	}
	m := p.Member(memberID)
	if m == nil {
		return nil, &NotFoundError{Kind: "member", ID: memberID}
	}
	if c.By.Side == SideBuyer && m.Side != SideBuyer {
		return nil, invalid("member", "buyers can remove buyer members only")
	}
	old := *m
	for i := range p.Members {
		if p.Members[i].ID == memberID {
			p.Members = append(p.Members[:i:i], p.Members[i+1:]...)
			break
		}
	}
	r := &recorder{p: p, c: c}
	r.add(EventMemberRemoved, nil, old, nil)
	p.handOver(r, old)
	return r.done(), nil
}

func (p *Plan) hasMember(email, role string) bool {
	for _, x := range p.Members {
		if x.Role == role && email != "" && strings.EqualFold(x.Email, email) {
			return true
		}
	}
	return false
}

// handOver reassigns the actions of old (a member who left old.Role) to the first remaining
// member of that role, or to nobody.
func (p *Plan) handOver(r *recorder, old Member) {
	next := ""
	for _, x := range p.Members {
		if x.Role == old.Role && x.ID != old.ID {
			next = x.ID
			break
		}
	}
	for _, a := range p.Actions() {
		if a.AssigneeID != old.ID {
			continue
		}
		r.add(EventActionAssignee, a, a.AssigneeID, next)
		a.AssigneeID = next
		if next == "" && a.OwnerRole == "" {
			a.OwnerRole = old.Role
		}
		r.touch(a)
	}
}

// assignUnassigned gives m the open actions of its role that have nobody.
func (p *Plan) assignUnassigned(r *recorder, m Member) {
	for _, a := range p.Actions() {
		if a.OwnerRole != m.Role || a.AssigneeID != "" || a.Status.Closed() || (a.Internal && m.Side == SideBuyer) {
			continue
		}
		r.add(EventActionAssignee, a, "", m.ID)
		a.AssigneeID = m.ID
		r.touch(a)
	}
}
