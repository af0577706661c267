package mapping

// FieldDiff is Diff's verdict on one field of one record.
type FieldDiff struct {
	// Field is the CRM field.
	Field string
	// Value is the value to write (the coerced Desired.Value).
	Value any
	// Write is true when the field is to be written.
	Write bool
	// Reason says why not, when !Write.
	Reason Reason
	// Err is the Desired's error, for SkipInvalid.
	Err error
	// Current is the CRM's value as given to Diff (nil when unknown or empty).
	Current any
	// LastPushed is the value last pushed as given to Diff (nil when never pushed).
	LastPushed any
}

// Diffs is Diff's result, one entry per Desired in order.
type Diffs []FieldDiff

// Changes returns the fields to write and their values (for connectors.Change.Fields); nil when
// there is nothing to write.
func (ds Diffs) Changes() map[string]any {
	var out map[string]any
	for _, d := range ds {
		if d.Write {
			if out == nil {
				out = map[string]any{}
			}
			out[d.Field] = d.Value
		}
	}
	return out
}

// Invalid returns the entries skipped as SkipInvalid (a per-record error to report).
func (ds Diffs) Invalid() []FieldDiff {
	var out []FieldDiff
	for _, d := range ds {
		if d.Reason == SkipInvalid {
			out = append(out, d)
		}
	}
	return out
}

// Diff decides, field by field, what to write to one record. desired should be coerced
// (CoerceAll) so values compare in the CRM's form. lastPushed holds the values mapsync last
// wrote to the record (absent: never written); crmCurrent the record's fields as the CRM holds
// them (absent field: unknown). crmCurrent must not be older than lastPushed: when the stored
// record was pulled before the last push, overlay the pushed values first (Overlay), or our own
// write would look like a person's edit. Rules, first match wins:
//
//  1. a Desired already skipped (when_false, no_plan, invalid) keeps its reason;
//  2. policy if_empty and the CRM field has a value: SkipCRMNotEmpty;
//  3. keepCRMEdits, the field was pushed before and the CRM's value differs from it:
//     SkipCRMEdited (a person changed it since);
//  4. the CRM's value equals the desired one (Equal), or, when the CRM's value is unknown, the
//     last pushed value does: SkipUnchanged;
//  5. otherwise the field is written.
//
// Diff is pure.
func Diff(desired []Desired, lastPushed, crmCurrent map[string]any, keepCRMEdits bool) Diffs {
	out := make(Diffs, 0, len(desired))
	for _, d := range desired {
		last, pushed := lastPushed[d.Field]
		cur, known := crmCurrent[d.Field]
		fd := FieldDiff{Field: d.Field, Value: d.Value, Current: cur, LastPushed: last}
		switch {
		case d.Skip != "":
			fd.Reason, fd.Err = d.Skip, d.Err
		case d.Policy == PolicyIfEmpty && known && !Equal(cur, nil):
			fd.Reason = SkipCRMNotEmpty
		case keepCRMEdits && pushed && known && !Equal(cur, last):
			fd.Reason = SkipCRMEdited
		case known && Equal(cur, d.Value), !known && pushed && Equal(last, d.Value):
			fd.Reason = SkipUnchanged
		default:
			fd.Write = true
		}
		out = append(out, fd)
	}
	return out
}

// Overlay returns crm with the fields of pushed laid over it: the CRM's view right after our
// last push, for a stored record pulled before that push. Neither map is changed.
func Overlay(crm, pushed map[string]any) map[string]any {
	out := make(map[string]any, len(crm)+len(pushed))
	for k, v := range crm {
		out[k] = v
	}
	for k, v := range pushed {
		out[k] = v
	}
	return out
}
