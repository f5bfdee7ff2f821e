package main

// backslashEscapes is false on Windows: a backslash in --reset-cmd is a folder separator
// ("C:\Program Files\SEGGER\JLink\JLink.exe"); quote an argument that holds spaces.
const backslashEscapes = false
