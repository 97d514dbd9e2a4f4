// Registers every op record. Import order is irrelevant: records only reference builders lazily.
import './leaves.js';
import './arithmetic.js';
import './functions.js';
import './tensor.js';
import './pairs.js';
import './sites.js';
