#!/usr/bin/env node
// The CLI's entry point: the compiled program (npm run build).
import '../dist/main.js';
