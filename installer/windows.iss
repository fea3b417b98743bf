; Inno Setup 6 script for amocrm-wizard: a per-user install (no administrator rights) of the
; PyInstaller bundle into %LOCALAPPDATA%\Programs\amocrm-wizard, a Start-menu shortcut and an
; uninstaller registered under "Apps & features".
;
; installer\build.py runs it as
;   iscc /DAppVersion=0.1.0 /DSourceDir=dist\amocrm-wizard /DOutputDir=dist /DIconFile=resources\icons\amocrm-wizard.ico installer\windows.iss
; and it also compiles on its own from the repository root with the defaults below.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\dist\amocrm-wizard"
#endif
#ifndef OutputDir
  #define OutputDir "..\dist"
#endif
#ifndef IconFile
  #define IconFile "..\resources\icons\amocrm-wizard.ico"
#endif
#define AppName "amoCRM Wizard"
#define AppExe "amocrm-wizard.exe"

[Setup]
; A fixed AppId keeps upgrades and the uninstaller entry the same across versions.
AppId={{7C4B6B2E-3D1A-4F0B-9C55-2A8E6D1F0A47}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=amocrm-wizard
VersionInfoVersion={#AppVersion}
; Per user: no UAC prompt, nothing outside the user's profile.
PrivilegesRequired=lowest
DefaultDirName={localappdata}\Programs\amocrm-wizard
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
DisableDirPage=auto
UsePreviousAppDir=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=amocrm-wizard-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/ultra64
SolidCompression=yes
LZMAUseSeparateProcess=yes
WizardStyle=modern
; The wizard may be running when an update is installed.
CloseApplications=yes
RestartApplications=no
; *.amocrm-setup is registered below: Explorer must hear of the new association.
ChangesAssociations=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"
Name: "russian"; MessagesFile: "compiler:Languages\Russian.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole onedir bundle: the executable and its _internal folder.
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An update must not keep Qt files the new bundle no longer has.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{userprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{userdocs}"
Name: "{userdesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{userdocs}"; Tasks: desktopicon

[Registry]
; Setup files (*.amocrm-setup) open the wizard filled in: amocrm-wizard --setup FILE. Per user
; (HKA is HKCU\Software\Classes in this non-administrative install), removed on uninstall.
Root: HKA; Subkey: "Software\Classes\.amocrm-setup"; ValueType: string; ValueName: ""; ValueData: "AmocrmWizard.Setup"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.amocrm-setup"; ValueType: string; ValueName: "Content Type"; ValueData: "application/x-amocrm-setup"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\AmocrmWizard.Setup"; ValueType: string; ValueName: ""; ValueData: "amoCRM Wizard setup"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\AmocrmWizard.Setup\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\AmocrmWizard.Setup\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" --setup ""%1"""

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
Type: filesandordirs; Name: "{app}\_internal"
