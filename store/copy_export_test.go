package store

// AppendJSON exposes the pull's JSON encoder to the equivalence fuzz target.
var AppendJSON = appendJSON
