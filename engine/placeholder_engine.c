/* placeholder so the library has a translation unit until the module lands */
typedef int ibs_engine_placeholder_t;
