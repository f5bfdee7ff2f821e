/* bcryptprimitives.dll for Wine 8, which has none: Go >= 1.24 calls ProcessPrng at start-up
 * and dies with "bcryptprimitives.dll not found" without it. ProcessPrng fills a buffer with
 * random bytes and always returns TRUE; RtlGenRandom (advapi32's SystemFunction036) does the
 * same in chunks of at most ULONG bytes. Used only by scripts/wine-test.sh. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
