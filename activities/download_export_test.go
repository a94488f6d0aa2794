package activities

// Files is files, for the tests of package activities_test.
var Files = files
