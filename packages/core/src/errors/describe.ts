/** A short, single-line description of any thrown value, for logs and attempt histories. */
export function describeError(error: unknown): { message: string; code?: string; name?: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message.split('\n')[0] ?? '',
      ...(typeof code === 'string' || typeof code === 'number' ? { code: String(code) } : {}),
    };
  }
  return { message: String(error) };
}
