#include <stdio.h>
int main(void) { puts("ibstream"); return 0; }
