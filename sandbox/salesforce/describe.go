package salesforce

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/mapsync/mapsync/sandbox/fakedata"
)

// Field declares one field of an sObject. Standard fields are built in; Options.CustomFields adds
// custom ones (their names end in __c), which then appear in describe, SOQL and writes.
type Field struct {
	// Object is the sObject the field belongs to, e.g. "Opportunity".
	Object string
	// Name is the API name, e.g. "MAP_Status__c".
	Name string
	// Label is the display label; empty derives one from Name.
	Label string
	// Type is the describe type: id, string, textarea, picklist, reference, boolean, currency,
	// percent, double, int, date, datetime, email, phone or url.
	Type string
	// Length is the maximum number of characters of text types; 0 means 255.
	Length int
	// Precision and Scale bound numbers: at most Precision digits, Scale of them decimals.
	// 0 means 18 and 2.
	Precision, Scale int
	// Picklist lists the values of a picklist.
	Picklist []string
	// Restricted rejects values outside Picklist (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST).
	Restricted bool
	// ReferenceTo names the target object of a reference, RelationshipName its relationship.
	ReferenceTo, RelationshipName string
	// Required makes the field not nillable: writing null fails with REQUIRED_FIELD_MISSING.
	Required bool
	// ReadOnly fields are neither createable nor updateable; CreateOnly ones are createable only.
	ReadOnly, CreateOnly bool
	// Custom is set for fields declared through Options.CustomFields.
	Custom bool
	// Calculated marks formula fields (Name on Contact and User); they are read-only too.
	Calculated bool
}

// MAPStatusValues are the values of the restricted picklist MAP_Status__c.
var MAPStatusValues = []string{"Not Started", "On Track", "At Risk", "Off Track", "Completed", "Cancelled"}

// DefaultCustomFields returns the custom fields on Opportunity that mapsync mappings write:
// MAP_Progress__c (percent 3,0), MAP_Status__c (restricted picklist of MAPStatusValues),
// MAP_Next_Step__c (string 255), MAP_Plan_URL__c (url 255) and MAP_Security_Review_Date__c
// (date).
func DefaultCustomFields() []Field {
	return []Field{
		{Object: "Opportunity", Name: "MAP_Progress__c", Label: "MAP Progress", Type: "percent", Precision: 3, Scale: 0},
		{Object: "Opportunity", Name: "MAP_Status__c", Label: "MAP Status", Type: "picklist",
			Picklist: append([]string(nil), MAPStatusValues...), Restricted: true},
		{Object: "Opportunity", Name: "MAP_Next_Step__c", Label: "MAP Next Step", Type: "string", Length: 255},
		{Object: "Opportunity", Name: "MAP_Plan_URL__c", Label: "MAP Plan URL", Type: "url", Length: 255},
		{Object: "Opportunity", Name: "MAP_Security_Review_Date__c", Label: "MAP Security Review Date", Type: "date"},
	}
}

type fieldDef struct {
	Field
	idx   int
	picks map[string]string // lower-case value -> canonical value
	key   string            // `,"Name":`, what precedes the value in a record's JSON
}

func (f *fieldDef) createable() bool { return !f.ReadOnly && !f.Calculated && f.Type != "id" }
func (f *fieldDef) updateable() bool { return f.createable() && !f.CreateOnly }

// textual reports whether the field holds a string.
func (f *fieldDef) textual() bool {
	switch f.Type {
	case "id", "string", "textarea", "picklist", "reference", "email", "phone", "url":
		return true
	}
	return false
}

func (f *fieldDef) numeric() bool {
	return f.Type == "currency" || f.Type == "percent" || f.Type == "double" || f.Type == "int"
}

var knownTypes = map[string]bool{"id": true, "string": true, "textarea": true, "picklist": true, "reference": true,
	"boolean": true, "currency": true, "percent": true, "double": true, "int": true, "date": true, "datetime": true,
	"email": true, "phone": true, "url": true}

type schemaSpec struct {
	name, label, plural, prefix string
	fields                      []Field
}

func auditFields(deletable bool) []Field {
	f := []Field{
		{Name: "CreatedDate", Label: "Created Date", Type: "datetime", ReadOnly: true, Required: true},
		{Name: "CreatedById", Label: "Created By ID", Type: "reference", ReferenceTo: "User", RelationshipName: "CreatedBy", ReadOnly: true, Required: true},
		{Name: "LastModifiedDate", Label: "Last Modified Date", Type: "datetime", ReadOnly: true, Required: true},
		{Name: "LastModifiedById", Label: "Last Modified By ID", Type: "reference", ReferenceTo: "User", RelationshipName: "LastModifiedBy", ReadOnly: true, Required: true},
		{Name: "SystemModstamp", Label: "System Modstamp", Type: "datetime", ReadOnly: true, Required: true},
	}
	if deletable {
		f = append(f, Field{Name: "IsDeleted", Label: "Deleted", Type: "boolean", ReadOnly: true, Required: true})
	}
	return f
}

func idField(label string) Field {
	return Field{Name: "Id", Label: label + " ID", Type: "id", Length: 18, ReadOnly: true, Required: true}
}

func standardSchemas() []schemaSpec {
	opp := []Field{
		idField("Opportunity"),
		{Name: "AccountId", Label: "Account ID", Type: "reference", ReferenceTo: "Account", RelationshipName: "Account"},
		{Name: "Name", Label: "Name", Type: "string", Length: 120, Required: true},
		{Name: "Description", Label: "Description", Type: "textarea", Length: 32000},
		{Name: "StageName", Label: "Stage", Type: "picklist", Length: 255, Picklist: stageNames(), Required: true},
		{Name: "Amount", Label: "Amount", Type: "currency", Precision: 18, Scale: 2},
		{Name: "Probability", Label: "Probability (%)", Type: "percent", Precision: 3, Scale: 0},
		{Name: "TotalOpportunityQuantity", Label: "Quantity", Type: "double", Precision: 18, Scale: 2},
		{Name: "CloseDate", Label: "Close Date", Type: "date", Required: true},
		{Name: "Type", Label: "Opportunity Type", Type: "picklist", Length: 255, Picklist: fakedata.DealTypes},
		{Name: "NextStep", Label: "Next Step", Type: "string", Length: 255},
		{Name: "LeadSource", Label: "Lead Source", Type: "picklist", Length: 255, Picklist: []string{"Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"}},
		{Name: "IsClosed", Label: "Closed", Type: "boolean", ReadOnly: true, Required: true},
		{Name: "IsWon", Label: "Won", Type: "boolean", ReadOnly: true, Required: true},
		{Name: "ForecastCategoryName", Label: "Forecast Category", Type: "picklist", Length: 255, Restricted: true,
			Picklist: []string{"Omitted", "Pipeline", "Best Case", "Commit", "Closed"}},
		{Name: "OwnerId", Label: "Owner ID", Type: "reference", ReferenceTo: "User", RelationshipName: "Owner", Required: true},
	}
	contact := []Field{
		idField("Contact"),
		{Name: "AccountId", Label: "Account ID", Type: "reference", ReferenceTo: "Account", RelationshipName: "Account"},
		{Name: "LastName", Label: "Last Name", Type: "string", Length: 80, Required: true},
		{Name: "FirstName", Label: "First Name", Type: "string", Length: 40},
		{Name: "Name", Label: "Full Name", Type: "string", Length: 121, Calculated: true, Required: true},
		{Name: "Title", Label: "Title", Type: "string", Length: 128},
		{Name: "Email", Label: "Email", Type: "email", Length: 80},
		{Name: "Phone", Label: "Business Phone", Type: "phone", Length: 40},
		{Name: "OwnerId", Label: "Owner ID", Type: "reference", ReferenceTo: "User", RelationshipName: "Owner", Required: true},
	}
	ocr := []Field{
		idField("Opportunity Contact Role"),
		{Name: "OpportunityId", Label: "Opportunity ID", Type: "reference", ReferenceTo: "Opportunity", RelationshipName: "Opportunity", CreateOnly: true, Required: true},
		{Name: "ContactId", Label: "Contact ID", Type: "reference", ReferenceTo: "Contact", RelationshipName: "Contact", Required: true},
		{Name: "Role", Label: "Role", Type: "picklist", Length: 255, Picklist: fakedata.ContactRoles},
		{Name: "IsPrimary", Label: "Primary", Type: "boolean", Required: true},
	}
	user := []Field{
		idField("User"),
		{Name: "Username", Label: "Username", Type: "string", Length: 80, Required: true},
		{Name: "LastName", Label: "Last Name", Type: "string", Length: 80, Required: true},
		{Name: "FirstName", Label: "First Name", Type: "string", Length: 40},
		{Name: "Name", Label: "Full Name", Type: "string", Length: 121, Calculated: true, Required: true},
		{Name: "Email", Label: "Email", Type: "email", Length: 128, Required: true},
		{Name: "Title", Label: "Title", Type: "string", Length: 80},
		{Name: "IsActive", Label: "Active", Type: "boolean", Required: true},
	}
	account := []Field{
		idField("Account"),
		{Name: "Name", Label: "Account Name", Type: "string", Length: 255, Required: true},
		{Name: "Type", Label: "Account Type", Type: "picklist", Length: 255, Picklist: []string{"Prospect", "Customer", "Partner", "Other"}},
		{Name: "Industry", Label: "Industry", Type: "picklist", Length: 255,
			Picklist: []string{"Technology", "Healthcare", "Finance", "Manufacturing", "Retail", "Energy", "Logistics", "Education"}},
		{Name: "Website", Label: "Website", Type: "url", Length: 255},
		{Name: "OwnerId", Label: "Owner ID", Type: "reference", ReferenceTo: "User", RelationshipName: "Owner", Required: true},
	}
	return []schemaSpec{
		{"Opportunity", "Opportunity", "Opportunities", prefixOpportunity, append(opp, auditFields(true)...)},
		{"Contact", "Contact", "Contacts", prefixContact, append(contact, auditFields(true)...)},
		{"OpportunityContactRole", "Opportunity Contact Role", "Opportunity Contact Role", prefixOCR, append(ocr, auditFields(true)...)},
		{"User", "User", "Users", prefixUser, append(user, auditFields(false)...)},
		{"Account", "Account", "Accounts", prefixAccount, append(account, auditFields(true)...)},
	}
}

func soapType(t string) string {
	switch t {
	case "id", "reference":
		return "tns:ID"
	case "boolean":
		return "xsd:boolean"
	case "currency", "percent", "double":
		return "xsd:double"
	case "int":
		return "xsd:int"
	case "date":
		return "xsd:date"
	case "datetime":
		return "xsd:dateTime"
	}
	return "xsd:string"
}

type picklistEntry struct {
	Active       bool    `json:"active"`
	DefaultValue bool    `json:"defaultValue"`
	Label        string  `json:"label"`
	ValidFor     *string `json:"validFor"`
	Value        string  `json:"value"`
}

// describeJSON renders the describe result of o once; handlers serve the cached bytes.
func describeJSON(o *object) []byte {
	fields := make([]map[string]any, 0, len(o.fields))
	for _, f := range o.fields {
		picks := []picklistEntry{}
		for _, v := range f.Picklist {
			picks = append(picks, picklistEntry{Active: true, Label: v, Value: v})
		}
		refs := []string{}
		if f.ReferenceTo != "" {
			refs = append(refs, f.ReferenceTo)
		}
		var rel any
		if f.RelationshipName != "" {
			rel = f.RelationshipName
		}
		length, byteLength, digits, precision, scale := 0, 0, 0, 0, 0
		switch {
		case f.textual():
			length, byteLength = f.Length, f.Length*3
			if f.Type == "id" || f.Type == "reference" {
				length, byteLength = 18, 18
			}
		case f.Type == "int":
			digits = f.Precision
		case f.numeric():
			precision, scale = f.Precision, f.Scale
		}
		filterable := f.Type != "textarea"
		fields = append(fields, map[string]any{
			"aggregatable": filterable, "autoNumber": false, "byteLength": byteLength, "calculated": f.Calculated,
			"calculatedFormula": nil, "cascadeDelete": false, "caseSensitive": false, "compoundFieldName": nil,
			"controllerName": nil, "createable": f.createable(), "custom": f.Custom, "defaultValue": nil,
			"defaultValueFormula": nil, "defaultedOnCreate": f.Type == "boolean" || f.ReadOnly, "dependentPicklist": false,
			"deprecatedAndHidden": false, "digits": digits, "displayLocationInDecimal": false, "encrypted": false,
			"externalId": false, "extraTypeInfo": nil, "filterable": filterable, "filteredLookupInfo": nil,
			"groupable": filterable && !f.numeric(), "highScaleNumber": false, "htmlFormatted": false,
			"idLookup": f.Type == "id", "inlineHelpText": nil, "label": f.Label, "length": length, "mask": nil,
			"maskType": nil, "name": f.Name, "nameField": f.Name == "Name", "namePointing": false,
			"nillable": !f.Required && f.Type != "boolean", "permissionable": !f.Required && !f.ReadOnly,
			"picklistValues": picks, "polymorphicForeignKey": false, "precision": precision, "queryByDistance": false,
			"referenceTargetField": nil, "referenceTo": refs, "relationshipName": rel, "relationshipOrder": nil,
			"restrictedDelete": false, "restrictedPicklist": f.Restricted, "scale": scale,
			"searchPrefilterable": false, "soapType": soapType(f.Type), "sortable": filterable, "type": f.Type,
			"unique": false, "updateable": f.updateable(), "writeRequiresMasterRead": false,
		})
	}
	body := objectSummary(o, "")
	body["fields"] = fields
	body["childRelationships"] = []any{}
	body["recordTypeInfos"] = []any{map[string]any{"active": true, "available": true, "defaultRecordTypeMapping": true,
		"developerName": "Master", "master": true, "name": "Master", "recordTypeId": "012000000000000AAA"}}
	body["actionOverrides"] = []any{}
	body["supportedScopes"] = []any{}
	b, err := json.Marshal(body)
	if err != nil {
		panic(err) // static data: cannot fail
	}
	return b
}

// objectSummary is the entry of GET /sobjects and the head of a describe. The urls keep a
// placeholder version that handlers replace.
func objectSummary(o *object, version string) map[string]any {
	if version == "" {
		version = "{v}"
	}
	base := "/services/data/v" + version + "/sobjects/" + o.name
	writable := o.name != "User"
	return map[string]any{
		"name": o.name, "label": o.label, "labelPlural": o.plural, "keyPrefix": o.keyPrefix, "custom": false,
		"customSetting": false, "queryable": true, "retrieveable": true, "searchable": true, "createable": writable,
		"updateable": writable, "deletable": writable, "undeletable": writable, "replicateable": true,
		"triggerable": true, "layoutable": true, "mergeable": false, "feedEnabled": false, "activateable": false,
		"urls": map[string]string{
			"sobject": base, "describe": base + "/describe", "rowTemplate": base + "/{ID}",
		},
	}
}

func (s *Sandbox) handleDescribe(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	o := s.objects[strings.ToLower(r.PathValue("object"))]
	if o == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	body := strings.ReplaceAll(string(o.describe), "/v{v}/", "/v"+rc.version+"/")
	writeRaw(w, http.StatusOK, []byte(body))
}

func (s *Sandbox) handleGlobalDescribe(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	list := make([]map[string]any, 0, len(s.objects))
	for _, name := range []string{"account", "contact", "opportunity", "opportunitycontactrole", "user"} {
		list = append(list, objectSummary(s.objects[name], rc.version))
	}
	writeJSON(w, http.StatusOK, map[string]any{"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": list})
}
